//! The grade flags of `identify`: which gallery photos may be proposed by
//! their photo-ID grades (see `whaleid::matching::scope` for the rules).

use anyhow::Result;
use clap::Args;

use whaleid::catalogue::attributes::{Part, Quality, Side};
use whaleid::matching::scope::{BoundScope, GradeScope, SideScope};

#[derive(Args, Debug)]
pub struct GradeArgs {
    /// Propose only gallery photos that may show the photos' side, given by
    /// --side (photos graded the other side are left out; ungraded, unknown
    /// and both-sides photos stay).
    #[arg(long, requires = "side")]
    same_side: bool,
    /// The side the photos show; alone, it scopes the search to that side
    /// as --same-side does.
    #[arg(long, value_name = "left|right|both")]
    side: Option<Side>,
    /// Propose only gallery photos graded this good or better (Q2: Q1 and
    /// Q2); ungraded photos are left out.
    #[arg(long, value_name = "Q1|Q2|Q3")]
    min_quality: Option<Quality>,
    /// Propose only gallery photos graded this body part (repeat for
    /// several); ungraded photos are left out.
    #[arg(long = "part", value_name = "dorsal-fin|fluke|flank|head|other")]
    parts: Vec<Part>,
}

impl GradeArgs {
    /// The scope the flags ask for, bound to the photos' side.
    pub fn bound(&self) -> Result<BoundScope> {
        let side = match (self.same_side, self.side) {
            (true, _) => SideScope::Same,
            (false, Some(s)) => SideScope::Fixed(s),
            (false, None) => SideScope::Any,
        };
        let scope = GradeScope {
            side,
            min_quality: self.min_quality,
            parts: self.parts.clone(),
        };
        Ok(scope.bind(self.side, "--side")?)
    }
}
