//! Getting photos into WhaleID: labelled collections ([`labels`]), the shared
//! detect-and-embed path ([`pipeline`]), and the import into a catalogue
//! ([`import`]) with progress, cancel and resume.

pub mod boxes;
pub mod encounters;
pub mod import;
pub mod labels;
pub mod media;
pub mod pipeline;
pub mod scan;
pub mod survey;
pub mod wildbook;

pub use import::{import, ImportOptions, ImportReport, Progress, Stage};
pub use labels::Labelled;
pub use pipeline::{Found, Pipeline, Region, Target};
