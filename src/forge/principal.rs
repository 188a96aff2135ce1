//! IAM principals as CodeCommit names them. A role's sessions show up as
//! `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`, while a config names the role as
//! `arn:aws:iam::ACCOUNT:role/PATH/ROLE`: both mean the same principal.

/// (partition, account, `role` or `user`, name) of an IAM user, role or role session.
fn parts(arn: &str) -> Option<(&str, &str, &str, &str)> {
    let mut f = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(_region), Some(account), Some(res)) =
        (f.next(), f.next(), f.next(), f.next(), f.next(), f.next())
    else {
        return None;
    };
    let (kind, rest) = res.split_once('/')?;
    match (service, kind) {
        // The path sits between the kind and the name; sessions carry no path.
        ("iam", "role" | "user") => Some((partition, account, kind, rest.rsplit('/').next()?)),
        ("sts", "assumed-role") => Some((partition, account, "role", rest.split('/').next()?)),
        _ => None,
    }
}

/// Whether two ARNs name the same IAM user or role (any session of it).
pub fn same(a: &str, b: &str) -> bool {
    match (parts(a), parts(b)) {
        (Some((pa, aa, ka, na)), Some((pb, ab, kb, nb))) => {
            // IAM names are unique regardless of case.
            pa == pb && aa == ab && ka == kb && na.eq_ignore_ascii_case(nb)
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn a_session_is_its_role_and_paths_do_not_matter() {
        let role = "arn:aws:iam::123456789012:role/sre";
        assert!(same(
            role,
            "arn:aws:sts::123456789012:assumed-role/sre/alice@example.com"
        ));
        assert!(same(
            "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/sre",
            "arn:aws:sts::123456789012:assumed-role/sre/bob"
        ));
        assert!(same(
            "arn:aws:iam::123456789012:user/ops/quinn",
            "arn:aws:iam::123456789012:user/quinn"
        ));
    }

    #[test]
    fn other_accounts_kinds_and_names_differ() {
        let role = "arn:aws:iam::123456789012:role/sre";
        assert!(!same(
            role,
            "arn:aws:sts::210987654321:assumed-role/sre/alice"
        ));
        assert!(!same(role, "arn:aws:iam::123456789012:user/sre"));
        assert!(!same(role, "arn:aws:iam::123456789012:role/sre-leads"));
        assert!(!same(role, "arn:aws:sts::123456789012:federated-user/sre"));
        assert!(!same(role, "sre"));
    }
}
