//! `/rollback STAGE [to TAG]`: the pull request that puts back what a stage ran before,
//! and `/unhold STAGE`, which lets forward promotions into it merge again after the
//! rollback merged.

use super::commands::Reply;
use super::promote::Outcome;
use super::{Engine, Result};
use crate::argocd::ArgoCd;
use crate::domain::Actor;
use crate::forge::Forge;
use crate::messages;
use crate::policy::rollback::{self, Choice};
use crate::registry::Registry;
use crate::store::heads::HoistHead;

impl<F: Forge, A: ArgoCd, R: Registry> Engine<F, A, R> {
    /// `/rollback STAGE [to TAG]` on a pull request whose head Hoist wrote for a service
    /// (`meta`, the store's record; never the body). What the stage runs and ran comes
    /// from the ledger (the store: what Hoist merged there and Argo CD verified): the
    /// freight verified there before the current one, or the one tagged `to`. Who may ask:
    /// whoever may promote into the stage (the forge's permission and team membership).
    ///
    /// Kept whole: the refusals run in order (stage, promotion, group, permission, what
    /// to go back to), each returning early; then one match turns the outcome into a reply.
    pub(super) async fn rollback_command(
        &self,
        meta: Option<&HoistHead>,
        stage: &str,
        to: Option<&str>,
        author: &Actor,
    ) -> Result<Reply> {
        let Some(st) = self.config.stage(stage) else {
            let names = self.config.stage_names();
            return Ok(Reply::Refused(messages::unknown_stage(
                "/rollback",
                stage,
                &names,
            )));
        };
        let Some(h) = meta else {
            return Ok(Reply::Refused(messages::not_a_promotion_pr("/rollback")));
        };
        let grouped = h
            .group
            .as_deref()
            .or_else(|| self.config.group_of(&h.freight.service).map(|(g, _)| g));
        if let Some(group) = grouped {
            return Ok(Reply::Refused(messages::rollback_of_group(group)));
        }
        if !self.may_promote(author, st).await? {
            return Ok(Reply::Refused(messages::permission_refusal(
                &author.login,
                stage,
                &self.repo_name,
                &st.gate.promoters,
            )));
        }
        let service = h.freight.service.as_str();
        let ledger = self.store.ledger_for(service).await?;
        let (current, target) = match rollback::choose(&ledger, stage, to) {
            Choice::Back { current, target } => (current, target),
            Choice::NothingMerged => {
                return Ok(Reply::Refused(messages::nothing_to_roll_back(
                    service, stage,
                )));
            }
            Choice::NoTarget { verified } => {
                return Ok(Reply::Refused(messages::no_rollback_target(
                    service, stage, to, &verified,
                )));
            }
        };
        let freight = crate::plan::ledger_freight(&self.config, service, target)?;
        Ok(
            match self
                .promote(stage, &freight, author, Some(&current.tag))
                .await?
            {
                Outcome::Opened(n) | Outcome::Updated(n) | Outcome::AlreadyOpen(n) => Reply::Done(
                    messages::rollback_opened(stage, service, &target.tag, &current.tag, n),
                ),
                Outcome::Nothing(why) => Reply::Done(messages::nothing_to_do_in(stage, &why)),
                Outcome::Blocked(why) => Reply::Refused(why),
            },
        )
    }

    /// `/unhold STAGE` on a pull request of a service (`meta`, the store's record): lets
    /// forward promotions of the service into the stage merge again; whoever may promote
    /// into the stage may say it. The reply, the open pull request into the stage that
    /// may now merge, and the record of the release for the reply's top.
    pub(super) async fn unhold_stage_command(
        &self,
        meta: Option<&HoistHead>,
        stage: &str,
        author: &Actor,
    ) -> Result<(Reply, Option<u64>, Option<String>)> {
        let only = |r: Reply| Ok((r, None, None));
        let Some(st) = self.config.stage(stage) else {
            let names = self.config.stage_names();
            let why = messages::unknown_stage("/unhold", stage, &names);
            return only(Reply::Refused(why));
        };
        let Some(h) = meta else {
            return only(Reply::Refused(messages::not_a_promotion_pr(
                "/unhold STAGE",
            )));
        };
        if !self.may_promote(author, st).await? {
            let promoters = &st.gate.promoters;
            let why =
                messages::permission_refusal(&author.login, stage, &self.repo_name, promoters);
            return only(Reply::Refused(why));
        }
        let service = h.freight.service.as_str();
        let Some(released) = self.store.unhold_stage(service, stage).await? else {
            return only(Reply::Done(messages::stage_not_held(service, stage)));
        };
        let record = crate::marks::release_record(&crate::marks::ReleaseRecord {
            service: service.to_owned(),
            stage: stage.to_owned(),
            pr: released.pr,
            by: author.login.clone(),
            at: released.at,
        });
        let branch = crate::marks::branch(stage, service);
        let open = self
            .forge
            .open_pull_request_for(&branch)
            .await?
            .filter(|pr| pr.base_ref == self.forge.base())
            .map(|pr| pr.number);
        Ok((
            Reply::Done(messages::stage_unheld(service, stage, &author.login)),
            open,
            Some(record),
        ))
    }
}
