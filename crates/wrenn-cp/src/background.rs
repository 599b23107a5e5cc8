//! Work that runs beside the API: the host monitor and the reconciler.
//!
//! The monitor marks hosts whose heartbeats stopped `unreachable` and their
//! capsules `missing`. The reconciler compares, host by host, what the
//! store says with what the agent reports and brings the store back to the
//! truth (`decide` is the pure table): it finishes transitions whose task
//! died, learns of capsules the agent paused for inactivity or lost, brings
//! `missing` capsules back when their host answers again, and destroys what
//! runs on a host that the store does not know. It also lists the base
//! templates agents built as platform templates (`templates`). Every change it makes is
//! the same guarded transition the API uses, with an event.

mod decide;
mod reconciler;
mod templates;

pub use crate::background::decide::{Action, OnHost, decide};
pub use crate::background::reconciler::{BackgroundConfig, ReconcileReport, reconcile_host, spawn};
pub use crate::background::templates::base_template;
