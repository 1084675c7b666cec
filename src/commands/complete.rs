//! Dynamic completion of argument values: the `add = complete::…()` of the arguments that
//! name a connection, a provider or a recipe role. clap_complete's engine calls these while
//! the shell completes (`COMPLETE=bash conn`, see `cli::parse`); the values come from
//! `ops::complete`, read from the same files and environment as a normal run.

use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};

use crate::core::env::Env;
use crate::core::paths::Paths;
use crate::ops::Base;
use crate::ops::complete::{self, Candidate};

/// Connection names.
pub(crate) fn connections() -> ArgValueCandidates {
    ArgValueCandidates::new(|| candidates(complete::connections))
}

/// Provider ids.
pub(crate) fn providers() -> ArgValueCandidates {
    ArgValueCandidates::new(|| candidates(complete::providers))
}

/// The roles of the recipe found from the current directory.
pub(crate) fn roles() -> ArgValueCandidates {
    ArgValueCandidates::new(|| candidates(complete::roles))
}

fn candidates(of: fn(&Base) -> Vec<Candidate>) -> Vec<CompletionCandidate> {
    let env = Env::from_process();
    let Ok(paths) = Paths::resolve(&env) else {
        return Vec::new();
    };
    of(&Base { env, paths })
        .into_iter()
        .map(|c| CompletionCandidate::new(c.value).help(Some(c.help.into())))
        .collect()
}
