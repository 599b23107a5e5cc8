//! What every handler can reach: the control plane's services ([`App`])
//! behind one cheap handle. An embedder's own state takes an `AppState`
//! through `FromRef`.

use crate::app::App;
use crate::store::Store;

/// The state the core routes are built with.
#[derive(Debug, Clone)]
pub struct AppState {
    app: App,
}

impl AppState {
    pub fn new(app: App) -> AppState {
        AppState { app }
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    pub fn store(&self) -> &Store {
        self.app.store()
    }
}
