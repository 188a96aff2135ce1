//! The red-team matrix's bookkeeping, shared by GitHub's (`tests/gates.rs`) and
//! CodeCommit's (`tests/codecommit.rs`).

#![allow(dead_code)]

/// What one attack came to: whether it was refused (nothing merged, opened or held that
/// the attacker could not do alone), and whether the control that follows it, the
/// legitimate way, did what was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub refused: bool,
    pub control: bool,
}

/// Prints the table `bench/gates` shows, and fails unless every attack was refused and
/// every control went through.
pub fn report(forge: &str, rows: &[(&str, Outcome)]) {
    println!("| attack | forge | refused? | control through? |\n|---|---|---|---|");
    let yes = |b: bool| if b { "yes" } else { "**NO**" };
    for (name, o) in rows {
        println!(
            "| {name} | {forge} | {} | {} |",
            yes(o.refused),
            yes(o.control)
        );
    }
    let refused = rows.iter().filter(|(_, o)| o.refused).count();
    let controls = rows.iter().filter(|(_, o)| o.control).count();
    println!(
        "refused {refused} of {n}; controls through {controls} of {n}",
        n = rows.len()
    );
    assert_eq!(refused, rows.len(), "a gate let an attack through");
    assert_eq!(controls, rows.len(), "a legitimate request was refused");
}
