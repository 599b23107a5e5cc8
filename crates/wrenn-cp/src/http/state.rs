//! What every handler can reach. Kept to shared handles (cheap clones);
//! services join it as they are built (lifecycle, events, scheduler), and
//! an embedder's own state takes an `AppState` through `FromRef`.

use crate::store::Store;

/// The state the core routes are built with.
#[derive(Debug, Clone)]
pub struct AppState {
    store: Store,
}

impl AppState {
    pub fn new(store: Store) -> AppState {
        AppState { store }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}
