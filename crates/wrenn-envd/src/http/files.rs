//! PLACEHOLDER — being written.
pub(crate) async fn download() {}
pub(crate) async fn upload() {}
