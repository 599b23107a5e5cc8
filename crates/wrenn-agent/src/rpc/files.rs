//! Files in a capsule: contents stream through envd's `/files` (never held
//! whole in the agent, except for the unary `ReadFile`/`WriteFile`), metadata
//! goes through envd's `Filesystem` service.

use connectrpc::{ConnectError, ErrorCode, InboundStream, ServiceStream};
use futures::StreamExt;
use wrenn_proto::agent::hostagent as pb;
use wrenn_proto::agent::hostagent::__buffa::oneof::write_file_stream_request::Event as WriteEvent;
use wrenn_proto::envd::filesystem as fs_pb;

use crate::rpc::service::HostAgent;
use crate::rpc::{envd_error, invalid};

impl HostAgent {
    pub(crate) async fn read_file(&self, request: pb::ReadFileRequest) -> Result<pb::ReadFileResponse, ConnectError> {
        let envd = self.envd(&request.capsule_id, &request.user)?;
        let path = required_path(&request.path)?;
        let response = envd.read_file(path).await.map_err(|err| envd_error(&err))?;
        let content = response.bytes().await.map_err(|err| read_failed(path, &err))?;
        Ok(pb::ReadFileResponse { content: content.to_vec(), ..Default::default() })
    }

    pub(crate) async fn read_file_stream(
        &self,
        request: pb::ReadFileRequest,
    ) -> Result<ServiceStream<pb::FileChunk>, ConnectError> {
        let envd = self.envd(&request.capsule_id, &request.user)?;
        let path = required_path(&request.path)?.to_owned();
        let response = envd.read_file(&path).await.map_err(|err| envd_error(&err))?;
        let chunks = response.bytes_stream().map(move |chunk| match chunk {
            Ok(data) => Ok(pb::FileChunk { data: data.to_vec(), ..Default::default() }),
            Err(err) => Err(read_failed(&path, &err)),
        });
        Ok(chunks.boxed())
    }

    pub(crate) async fn write_file(&self, request: pb::WriteFileRequest) -> Result<(), ConnectError> {
        let envd = self.envd(&request.capsule_id, &request.user)?;
        let path = required_path(&request.path)?;
        envd.write_file(path, reqwest::Body::from(request.content)).await.map_err(|err| envd_error(&err))
    }

    /// The first message carries the metadata, every later one a chunk.
    pub(crate) async fn write_file_stream(
        &self,
        mut requests: InboundStream<pb::WriteFileStreamRequest>,
    ) -> Result<(), ConnectError> {
        let first = match requests.next().await {
            Some(message) => message?.to_owned_message(),
            None => return Err(invalid("the stream is empty: the first message must carry meta")),
        };
        let Some(WriteEvent::Meta(meta)) = first.event else {
            return Err(invalid("the first message must carry meta"));
        };
        let envd = self.envd(&meta.capsule_id, &meta.user)?;
        let path = required_path(&meta.path)?;
        let chunks = requests.filter_map(|message| {
            std::future::ready(match message {
                Err(err) => Some(Err(std::io::Error::other(err.to_string()))),
                Ok(message) => match message.to_owned_message().event {
                    Some(WriteEvent::Chunk(data)) => Some(Ok(data)),
                    Some(WriteEvent::Meta(_)) => Some(Err(std::io::Error::other("meta sent twice"))),
                    None => None,
                },
            })
        });
        envd.write_file(path, reqwest::Body::wrap_stream(chunks)).await.map_err(|err| envd_error(&err))
    }

    pub(crate) async fn list_dir(&self, request: pb::ListDirRequest) -> Result<pb::ListDirResponse, ConnectError> {
        let envd = self.envd(&request.capsule_id, &request.user)?;
        let path = required_path(&request.path)?;
        let entries = envd.list_dir(path.to_owned(), request.depth.max(1)).await.map_err(|err| envd_error(&err))?;
        Ok(pb::ListDirResponse { entries: entries.into_iter().map(file_entry).collect(), ..Default::default() })
    }

    pub(crate) async fn make_dir(&self, request: pb::MakeDirRequest) -> Result<pb::MakeDirResponse, ConnectError> {
        let envd = self.envd(&request.capsule_id, &request.user)?;
        let path = required_path(&request.path)?;
        let entry = envd.make_dir(path.to_owned()).await.map_err(|err| envd_error(&err))?;
        Ok(pb::MakeDirResponse { entry: entry.map(file_entry).into(), ..Default::default() })
    }

    pub(crate) async fn remove_path(&self, request: pb::RemovePathRequest) -> Result<(), ConnectError> {
        let envd = self.envd(&request.capsule_id, &request.user)?;
        let path = required_path(&request.path)?;
        envd.remove(path.to_owned()).await.map_err(|err| envd_error(&err))
    }
}

fn required_path(path: &str) -> Result<&str, ConnectError> {
    if path.is_empty() {
        return Err(invalid("path must not be empty"));
    }
    Ok(path)
}

fn read_failed(path: &str, err: &reqwest::Error) -> ConnectError {
    ConnectError::new(ErrorCode::Unavailable, format!("reading {path} from envd broke off: {err}"))
}

fn file_entry(entry: fs_pb::EntryInfo) -> pb::FileEntry {
    let kind = match entry.r#type.as_known() {
        Some(fs_pb::FileType::FILE_TYPE_FILE) => "file",
        Some(fs_pb::FileType::FILE_TYPE_DIRECTORY) => "directory",
        Some(fs_pb::FileType::FILE_TYPE_SYMLINK) => "symlink",
        _ => "unknown",
    };
    pb::FileEntry {
        name: entry.name,
        path: entry.path,
        r#type: kind.to_owned(),
        size: entry.size,
        mode: entry.mode,
        permissions: entry.permissions,
        owner: entry.owner,
        group: entry.group,
        modified_at_unix: entry.modified_time.as_option().map_or(0, |time| time.seconds),
        symlink_target: entry.symlink_target,
        ..Default::default()
    }
}
