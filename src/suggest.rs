//! "Did you mean" for names users type: stages, commands.

/// The closest name, when one is close enough to be a typo.
pub fn suggest<'a>(word: &str, options: &[&'a str]) -> Option<&'a str> {
    options
        .iter()
        .map(|o| (strsim(word, o), *o))
        .filter(|(d, o)| *d <= (o.len().max(word.len()) / 3).max(2) && *d < o.len().max(word.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, o)| o)
}

/// Levenshtein distance.
fn strsim(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_only() {
        assert_eq!(suggest("qa", &["dev", "uat", "prod"]), Some("uat"));
        assert_eq!(suggest("prdo", &["dev", "uat", "prod"]), Some("prod"));
        assert_eq!(suggest("staging", &["dev", "uat", "prod"]), None);
    }
}
