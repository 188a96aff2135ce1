//! Freight groups: services whose images ship together. (Work in progress on this
//! branch: the configuration, the arrivals store and the group's pull request plan.)

mod support;

use hoist::config::Config;
use hoist::freight::Freight;
use hoist::image::{Digest, ImageName, Tag};
use hoist::plan::{Planner, Proposal};
use hoist::repo::DirRepo;
use support::tester::*;

fn config() -> Config {
    let text = example_config().replace(
        "\nmerge:",
        "\ngroups:\n  shop: { services: [my-app-service1, my-app-service2], source: commit }\n\nmerge:",
    );
    Config::parse(&text, "hoist.yaml").unwrap()
}

fn freight(service: &str, tag: &str, seed: &str) -> Freight {
    Freight {
        service: service.into(),
        image: ImageName::parse(&format!(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/{service}"
        ))
        .unwrap(),
        tag: Tag::parse(tag).unwrap(),
        digest: Digest::parse(&digest(seed)).unwrap(),
        source: Some("3f9c2d1".into()),
        pushed_at: None,
    }
}

#[test]
fn groups_are_checked_where_they_are_written() {
    let text = example_config().replace(
        "\nmerge:",
        "\ngroups:\n  my-app-service1: { services: [my-app-service2] }\n  two: { services: [my-app-service2, my-app-servce1, my-app-service2] }\n\nmerge:",
    );
    let e = Config::parse(&text, "hoist.yaml").unwrap_err();
    let got: Vec<String> = e.0.iter().map(|e| e.message.clone()).collect();
    insta::assert_snapshot!(got.join("\n"), @r#"
    group "my-app-service1" has a service's name; name it apart, since its pull requests are named by it
    a group needs at least two services
    "my-app-service2" is in groups "my-app-service1" and "two"; a service ships with one group
    "my-app-servce1" is not a service (services: my-app-service1, my-app-service2, billing-api, nightly-report). Did you mean "my-app-service1"?
    "my-app-service2" is named twice in group "two"
    "#);
}

/// A group's freight moves in one pull request per stage: every member's targets in one
/// commit, the title and commit naming each member.
#[test]
fn a_groups_freight_is_one_pull_request() {
    let config = config();
    let repo = DirRepo::new(std::path::Path::new("examples/gitops"));
    let planner = Planner {
        config: &config,
        repo: &repo,
        ledger: &[],
    };
    let members = [
        freight("my-app-service1", "v1.4.0", "a1"),
        freight("my-app-service2", "2.4.0", "b2"),
    ];
    let Proposal::Promote(p) = planner
        .group_to_stage("dev", "shop", &members, "ecr-push")
        .unwrap()
    else {
        panic!("nothing planned")
    };
    let paths: Vec<&str> = p.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "apps/my-app-service1/env/dev/kustomization.yaml",
            "apps/my-app-service2/env/dev/kustomization.yaml"
        ]
    );
    insta::assert_snapshot!(format!("{}\n{}\n{}", p.branch, p.title, p.commit_message), @"
    hoist/dev/shop
    Promote shop (my-app-service1 v1.4.0, my-app-service2 2.4.0) to dev
    Promote shop (my-app-service1 v1.4.0, my-app-service2 2.4.0) to dev

    Hoist-Freight: my-app-service1@sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1
    Hoist-Stage: dev
    Hoist-Requested-By: ecr-push

    Hoist-Freight: my-app-service2@sha256:b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2
    Hoist-Stage: dev
    Hoist-Requested-By: ecr-push
    ");
}
