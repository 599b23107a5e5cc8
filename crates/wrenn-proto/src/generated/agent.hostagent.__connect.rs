///Shorthand for `OwnedView<GetHostInfoRequestView<'static>>`.
pub type OwnedGetHostInfoRequestView = ::buffa::view::OwnedView<
    __buffa::view::GetHostInfoRequestView<'static>,
>;
///Shorthand for `OwnedView<GetHostInfoResponseView<'static>>`.
pub type OwnedGetHostInfoResponseView = ::buffa::view::OwnedView<
    __buffa::view::GetHostInfoResponseView<'static>,
>;
///Shorthand for `OwnedView<CreateCapsuleRequestView<'static>>`.
pub type OwnedCreateCapsuleRequestView = ::buffa::view::OwnedView<
    __buffa::view::CreateCapsuleRequestView<'static>,
>;
///Shorthand for `OwnedView<CreateCapsuleResponseView<'static>>`.
pub type OwnedCreateCapsuleResponseView = ::buffa::view::OwnedView<
    __buffa::view::CreateCapsuleResponseView<'static>,
>;
///Shorthand for `OwnedView<DestroyCapsuleRequestView<'static>>`.
pub type OwnedDestroyCapsuleRequestView = ::buffa::view::OwnedView<
    __buffa::view::DestroyCapsuleRequestView<'static>,
>;
///Shorthand for `OwnedView<DestroyCapsuleResponseView<'static>>`.
pub type OwnedDestroyCapsuleResponseView = ::buffa::view::OwnedView<
    __buffa::view::DestroyCapsuleResponseView<'static>,
>;
///Shorthand for `OwnedView<PauseCapsuleRequestView<'static>>`.
pub type OwnedPauseCapsuleRequestView = ::buffa::view::OwnedView<
    __buffa::view::PauseCapsuleRequestView<'static>,
>;
///Shorthand for `OwnedView<PauseCapsuleResponseView<'static>>`.
pub type OwnedPauseCapsuleResponseView = ::buffa::view::OwnedView<
    __buffa::view::PauseCapsuleResponseView<'static>,
>;
///Shorthand for `OwnedView<ResumeCapsuleRequestView<'static>>`.
pub type OwnedResumeCapsuleRequestView = ::buffa::view::OwnedView<
    __buffa::view::ResumeCapsuleRequestView<'static>,
>;
///Shorthand for `OwnedView<ResumeCapsuleResponseView<'static>>`.
pub type OwnedResumeCapsuleResponseView = ::buffa::view::OwnedView<
    __buffa::view::ResumeCapsuleResponseView<'static>,
>;
///Shorthand for `OwnedView<HibernateCapsuleRequestView<'static>>`.
pub type OwnedHibernateCapsuleRequestView = ::buffa::view::OwnedView<
    __buffa::view::HibernateCapsuleRequestView<'static>,
>;
///Shorthand for `OwnedView<HibernateCapsuleResponseView<'static>>`.
pub type OwnedHibernateCapsuleResponseView = ::buffa::view::OwnedView<
    __buffa::view::HibernateCapsuleResponseView<'static>,
>;
///Shorthand for `OwnedView<PingCapsuleRequestView<'static>>`.
pub type OwnedPingCapsuleRequestView = ::buffa::view::OwnedView<
    __buffa::view::PingCapsuleRequestView<'static>,
>;
///Shorthand for `OwnedView<PingCapsuleResponseView<'static>>`.
pub type OwnedPingCapsuleResponseView = ::buffa::view::OwnedView<
    __buffa::view::PingCapsuleResponseView<'static>,
>;
///Shorthand for `OwnedView<ListCapsulesRequestView<'static>>`.
pub type OwnedListCapsulesRequestView = ::buffa::view::OwnedView<
    __buffa::view::ListCapsulesRequestView<'static>,
>;
///Shorthand for `OwnedView<ListCapsulesResponseView<'static>>`.
pub type OwnedListCapsulesResponseView = ::buffa::view::OwnedView<
    __buffa::view::ListCapsulesResponseView<'static>,
>;
///Shorthand for `OwnedView<SnapshotCapsuleRequestView<'static>>`.
pub type OwnedSnapshotCapsuleRequestView = ::buffa::view::OwnedView<
    __buffa::view::SnapshotCapsuleRequestView<'static>,
>;
///Shorthand for `OwnedView<SnapshotCapsuleResponseView<'static>>`.
pub type OwnedSnapshotCapsuleResponseView = ::buffa::view::OwnedView<
    __buffa::view::SnapshotCapsuleResponseView<'static>,
>;
///Shorthand for `OwnedView<ListTemplatesRequestView<'static>>`.
pub type OwnedListTemplatesRequestView = ::buffa::view::OwnedView<
    __buffa::view::ListTemplatesRequestView<'static>,
>;
///Shorthand for `OwnedView<ListTemplatesResponseView<'static>>`.
pub type OwnedListTemplatesResponseView = ::buffa::view::OwnedView<
    __buffa::view::ListTemplatesResponseView<'static>,
>;
///Shorthand for `OwnedView<DeleteTemplateRequestView<'static>>`.
pub type OwnedDeleteTemplateRequestView = ::buffa::view::OwnedView<
    __buffa::view::DeleteTemplateRequestView<'static>,
>;
///Shorthand for `OwnedView<DeleteTemplateResponseView<'static>>`.
pub type OwnedDeleteTemplateResponseView = ::buffa::view::OwnedView<
    __buffa::view::DeleteTemplateResponseView<'static>,
>;
///Shorthand for `OwnedView<ExecRequestView<'static>>`.
pub type OwnedExecRequestView = ::buffa::view::OwnedView<
    __buffa::view::ExecRequestView<'static>,
>;
///Shorthand for `OwnedView<ExecResponseView<'static>>`.
pub type OwnedExecResponseView = ::buffa::view::OwnedView<
    __buffa::view::ExecResponseView<'static>,
>;
///Shorthand for `OwnedView<ExecStreamResponseView<'static>>`.
pub type OwnedExecStreamResponseView = ::buffa::view::OwnedView<
    __buffa::view::ExecStreamResponseView<'static>,
>;
///Shorthand for `OwnedView<StartBackgroundRequestView<'static>>`.
pub type OwnedStartBackgroundRequestView = ::buffa::view::OwnedView<
    __buffa::view::StartBackgroundRequestView<'static>,
>;
///Shorthand for `OwnedView<StartBackgroundResponseView<'static>>`.
pub type OwnedStartBackgroundResponseView = ::buffa::view::OwnedView<
    __buffa::view::StartBackgroundResponseView<'static>,
>;
///Shorthand for `OwnedView<ListProcessesRequestView<'static>>`.
pub type OwnedListProcessesRequestView = ::buffa::view::OwnedView<
    __buffa::view::ListProcessesRequestView<'static>,
>;
///Shorthand for `OwnedView<ListProcessesResponseView<'static>>`.
pub type OwnedListProcessesResponseView = ::buffa::view::OwnedView<
    __buffa::view::ListProcessesResponseView<'static>,
>;
///Shorthand for `OwnedView<KillProcessRequestView<'static>>`.
pub type OwnedKillProcessRequestView = ::buffa::view::OwnedView<
    __buffa::view::KillProcessRequestView<'static>,
>;
///Shorthand for `OwnedView<KillProcessResponseView<'static>>`.
pub type OwnedKillProcessResponseView = ::buffa::view::OwnedView<
    __buffa::view::KillProcessResponseView<'static>,
>;
///Shorthand for `OwnedView<ConnectProcessRequestView<'static>>`.
pub type OwnedConnectProcessRequestView = ::buffa::view::OwnedView<
    __buffa::view::ConnectProcessRequestView<'static>,
>;
///Shorthand for `OwnedView<PtyAttachRequestView<'static>>`.
pub type OwnedPtyAttachRequestView = ::buffa::view::OwnedView<
    __buffa::view::PtyAttachRequestView<'static>,
>;
///Shorthand for `OwnedView<PtyAttachResponseView<'static>>`.
pub type OwnedPtyAttachResponseView = ::buffa::view::OwnedView<
    __buffa::view::PtyAttachResponseView<'static>,
>;
///Shorthand for `OwnedView<PtySendInputRequestView<'static>>`.
pub type OwnedPtySendInputRequestView = ::buffa::view::OwnedView<
    __buffa::view::PtySendInputRequestView<'static>,
>;
///Shorthand for `OwnedView<PtySendInputResponseView<'static>>`.
pub type OwnedPtySendInputResponseView = ::buffa::view::OwnedView<
    __buffa::view::PtySendInputResponseView<'static>,
>;
///Shorthand for `OwnedView<PtyResizeRequestView<'static>>`.
pub type OwnedPtyResizeRequestView = ::buffa::view::OwnedView<
    __buffa::view::PtyResizeRequestView<'static>,
>;
///Shorthand for `OwnedView<PtyResizeResponseView<'static>>`.
pub type OwnedPtyResizeResponseView = ::buffa::view::OwnedView<
    __buffa::view::PtyResizeResponseView<'static>,
>;
///Shorthand for `OwnedView<PtyKillRequestView<'static>>`.
pub type OwnedPtyKillRequestView = ::buffa::view::OwnedView<
    __buffa::view::PtyKillRequestView<'static>,
>;
///Shorthand for `OwnedView<PtyKillResponseView<'static>>`.
pub type OwnedPtyKillResponseView = ::buffa::view::OwnedView<
    __buffa::view::PtyKillResponseView<'static>,
>;
///Shorthand for `OwnedView<ReadFileRequestView<'static>>`.
pub type OwnedReadFileRequestView = ::buffa::view::OwnedView<
    __buffa::view::ReadFileRequestView<'static>,
>;
///Shorthand for `OwnedView<ReadFileResponseView<'static>>`.
pub type OwnedReadFileResponseView = ::buffa::view::OwnedView<
    __buffa::view::ReadFileResponseView<'static>,
>;
///Shorthand for `OwnedView<WriteFileRequestView<'static>>`.
pub type OwnedWriteFileRequestView = ::buffa::view::OwnedView<
    __buffa::view::WriteFileRequestView<'static>,
>;
///Shorthand for `OwnedView<WriteFileResponseView<'static>>`.
pub type OwnedWriteFileResponseView = ::buffa::view::OwnedView<
    __buffa::view::WriteFileResponseView<'static>,
>;
///Shorthand for `OwnedView<FileChunkView<'static>>`.
pub type OwnedFileChunkView = ::buffa::view::OwnedView<
    __buffa::view::FileChunkView<'static>,
>;
///Shorthand for `OwnedView<WriteFileStreamRequestView<'static>>`.
pub type OwnedWriteFileStreamRequestView = ::buffa::view::OwnedView<
    __buffa::view::WriteFileStreamRequestView<'static>,
>;
///Shorthand for `OwnedView<ListDirRequestView<'static>>`.
pub type OwnedListDirRequestView = ::buffa::view::OwnedView<
    __buffa::view::ListDirRequestView<'static>,
>;
///Shorthand for `OwnedView<ListDirResponseView<'static>>`.
pub type OwnedListDirResponseView = ::buffa::view::OwnedView<
    __buffa::view::ListDirResponseView<'static>,
>;
///Shorthand for `OwnedView<MakeDirRequestView<'static>>`.
pub type OwnedMakeDirRequestView = ::buffa::view::OwnedView<
    __buffa::view::MakeDirRequestView<'static>,
>;
///Shorthand for `OwnedView<MakeDirResponseView<'static>>`.
pub type OwnedMakeDirResponseView = ::buffa::view::OwnedView<
    __buffa::view::MakeDirResponseView<'static>,
>;
///Shorthand for `OwnedView<RemovePathRequestView<'static>>`.
pub type OwnedRemovePathRequestView = ::buffa::view::OwnedView<
    __buffa::view::RemovePathRequestView<'static>,
>;
///Shorthand for `OwnedView<RemovePathResponseView<'static>>`.
pub type OwnedRemovePathResponseView = ::buffa::view::OwnedView<
    __buffa::view::RemovePathResponseView<'static>,
>;
///Shorthand for `OwnedView<GetCapsuleMetricsRequestView<'static>>`.
pub type OwnedGetCapsuleMetricsRequestView = ::buffa::view::OwnedView<
    __buffa::view::GetCapsuleMetricsRequestView<'static>,
>;
///Shorthand for `OwnedView<GetCapsuleMetricsResponseView<'static>>`.
pub type OwnedGetCapsuleMetricsResponseView = ::buffa::view::OwnedView<
    __buffa::view::GetCapsuleMetricsResponseView<'static>,
>;
impl ::connectrpc::Encodable<GetHostInfoResponse>
for __buffa::view::GetHostInfoResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<GetHostInfoResponse>
for ::buffa::view::OwnedView<__buffa::view::GetHostInfoResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<CreateCapsuleResponse>
for __buffa::view::CreateCapsuleResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<CreateCapsuleResponse>
for ::buffa::view::OwnedView<__buffa::view::CreateCapsuleResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<DestroyCapsuleResponse>
for __buffa::view::DestroyCapsuleResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<DestroyCapsuleResponse>
for ::buffa::view::OwnedView<__buffa::view::DestroyCapsuleResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<PauseCapsuleResponse>
for __buffa::view::PauseCapsuleResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<PauseCapsuleResponse>
for ::buffa::view::OwnedView<__buffa::view::PauseCapsuleResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<ResumeCapsuleResponse>
for __buffa::view::ResumeCapsuleResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<ResumeCapsuleResponse>
for ::buffa::view::OwnedView<__buffa::view::ResumeCapsuleResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<HibernateCapsuleResponse>
for __buffa::view::HibernateCapsuleResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<HibernateCapsuleResponse>
for ::buffa::view::OwnedView<__buffa::view::HibernateCapsuleResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<PingCapsuleResponse>
for __buffa::view::PingCapsuleResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<PingCapsuleResponse>
for ::buffa::view::OwnedView<__buffa::view::PingCapsuleResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<ListCapsulesResponse>
for __buffa::view::ListCapsulesResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<ListCapsulesResponse>
for ::buffa::view::OwnedView<__buffa::view::ListCapsulesResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<SnapshotCapsuleResponse>
for __buffa::view::SnapshotCapsuleResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<SnapshotCapsuleResponse>
for ::buffa::view::OwnedView<__buffa::view::SnapshotCapsuleResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<ListTemplatesResponse>
for __buffa::view::ListTemplatesResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<ListTemplatesResponse>
for ::buffa::view::OwnedView<__buffa::view::ListTemplatesResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<DeleteTemplateResponse>
for __buffa::view::DeleteTemplateResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<DeleteTemplateResponse>
for ::buffa::view::OwnedView<__buffa::view::DeleteTemplateResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<ExecResponse> for __buffa::view::ExecResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<ExecResponse>
for ::buffa::view::OwnedView<__buffa::view::ExecResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<ExecStreamResponse>
for __buffa::view::ExecStreamResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<ExecStreamResponse>
for ::buffa::view::OwnedView<__buffa::view::ExecStreamResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<StartBackgroundResponse>
for __buffa::view::StartBackgroundResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<StartBackgroundResponse>
for ::buffa::view::OwnedView<__buffa::view::StartBackgroundResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<ListProcessesResponse>
for __buffa::view::ListProcessesResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<ListProcessesResponse>
for ::buffa::view::OwnedView<__buffa::view::ListProcessesResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<KillProcessResponse>
for __buffa::view::KillProcessResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<KillProcessResponse>
for ::buffa::view::OwnedView<__buffa::view::KillProcessResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<PtyAttachResponse>
for __buffa::view::PtyAttachResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<PtyAttachResponse>
for ::buffa::view::OwnedView<__buffa::view::PtyAttachResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<PtySendInputResponse>
for __buffa::view::PtySendInputResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<PtySendInputResponse>
for ::buffa::view::OwnedView<__buffa::view::PtySendInputResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<PtyResizeResponse>
for __buffa::view::PtyResizeResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<PtyResizeResponse>
for ::buffa::view::OwnedView<__buffa::view::PtyResizeResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<PtyKillResponse>
for __buffa::view::PtyKillResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<PtyKillResponse>
for ::buffa::view::OwnedView<__buffa::view::PtyKillResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<ReadFileResponse>
for __buffa::view::ReadFileResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<ReadFileResponse>
for ::buffa::view::OwnedView<__buffa::view::ReadFileResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<WriteFileResponse>
for __buffa::view::WriteFileResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<WriteFileResponse>
for ::buffa::view::OwnedView<__buffa::view::WriteFileResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<FileChunk> for __buffa::view::FileChunkView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<FileChunk>
for ::buffa::view::OwnedView<__buffa::view::FileChunkView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<ListDirResponse>
for __buffa::view::ListDirResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<ListDirResponse>
for ::buffa::view::OwnedView<__buffa::view::ListDirResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<MakeDirResponse>
for __buffa::view::MakeDirResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<MakeDirResponse>
for ::buffa::view::OwnedView<__buffa::view::MakeDirResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<RemovePathResponse>
for __buffa::view::RemovePathResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<RemovePathResponse>
for ::buffa::view::OwnedView<__buffa::view::RemovePathResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
impl ::connectrpc::Encodable<GetCapsuleMetricsResponse>
for __buffa::view::GetCapsuleMetricsResponseView<'_> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self, codec)
    }
}
impl ::connectrpc::Encodable<GetCapsuleMetricsResponse>
for ::buffa::view::OwnedView<__buffa::view::GetCapsuleMetricsResponseView<'static>> {
    fn encode(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::buffa::bytes::Bytes, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body(self.reborrow(), codec)
    }
    /// An `OwnedView` still holds the buffer it was decoded from, so
    /// its large fields can be handed to the response body by
    /// reference count instead of copied. The bare view impl above
    /// cannot do this: it has borrows but no buffer to name.
    fn encode_segments(
        &self,
        codec: ::connectrpc::CodecFormat,
    ) -> ::std::result::Result<::connectrpc::EncodedBody, ::connectrpc::ConnectError> {
        ::connectrpc::__codegen::encode_view_body_segments(
            self.reborrow(),
            self.bytes(),
            codec,
        )
    }
}
/// Full service name for this service.
pub const HOST_AGENT_SERVICE_SERVICE_NAME: &str = "hostagent.v1.HostAgentService";
/// Static [`Spec`](::connectrpc::Spec) for the `GetHostInfo` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_GET_HOST_INFO_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/GetHostInfo",
        ::connectrpc::StreamType::Unary,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `CreateCapsule` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_CREATE_CAPSULE_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/CreateCapsule",
        ::connectrpc::StreamType::Unary,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `DestroyCapsule` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_DESTROY_CAPSULE_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/DestroyCapsule",
        ::connectrpc::StreamType::Unary,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `PauseCapsule` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_PAUSE_CAPSULE_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/PauseCapsule",
        ::connectrpc::StreamType::Unary,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `ResumeCapsule` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_RESUME_CAPSULE_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/ResumeCapsule",
        ::connectrpc::StreamType::Unary,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `HibernateCapsule` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_HIBERNATE_CAPSULE_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/HibernateCapsule",
        ::connectrpc::StreamType::Unary,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `PingCapsule` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_PING_CAPSULE_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/PingCapsule",
        ::connectrpc::StreamType::Unary,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `ListCapsules` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_LIST_CAPSULES_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/ListCapsules",
        ::connectrpc::StreamType::Unary,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `SnapshotCapsule` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_SNAPSHOT_CAPSULE_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/SnapshotCapsule",
        ::connectrpc::StreamType::Unary,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `ListTemplates` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_LIST_TEMPLATES_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/ListTemplates",
        ::connectrpc::StreamType::Unary,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `DeleteTemplate` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_DELETE_TEMPLATE_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/DeleteTemplate",
        ::connectrpc::StreamType::Unary,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `Exec` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_EXEC_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/Exec",
        ::connectrpc::StreamType::Unary,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `ExecStream` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_EXEC_STREAM_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/ExecStream",
        ::connectrpc::StreamType::ServerStream,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `StartBackground` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_START_BACKGROUND_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/StartBackground",
        ::connectrpc::StreamType::Unary,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `ListProcesses` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_LIST_PROCESSES_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/ListProcesses",
        ::connectrpc::StreamType::Unary,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `KillProcess` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_KILL_PROCESS_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/KillProcess",
        ::connectrpc::StreamType::Unary,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `ConnectProcess` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_CONNECT_PROCESS_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/ConnectProcess",
        ::connectrpc::StreamType::ServerStream,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `PtyAttach` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_PTY_ATTACH_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/PtyAttach",
        ::connectrpc::StreamType::ServerStream,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `PtySendInput` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_PTY_SEND_INPUT_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/PtySendInput",
        ::connectrpc::StreamType::Unary,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `PtyResize` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_PTY_RESIZE_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/PtyResize",
        ::connectrpc::StreamType::Unary,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `PtyKill` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_PTY_KILL_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/PtyKill",
        ::connectrpc::StreamType::Unary,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `ReadFile` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_READ_FILE_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/ReadFile",
        ::connectrpc::StreamType::Unary,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `WriteFile` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_WRITE_FILE_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/WriteFile",
        ::connectrpc::StreamType::Unary,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `ReadFileStream` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_READ_FILE_STREAM_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/ReadFileStream",
        ::connectrpc::StreamType::ServerStream,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `WriteFileStream` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_WRITE_FILE_STREAM_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/WriteFileStream",
        ::connectrpc::StreamType::ClientStream,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `ListDir` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_LIST_DIR_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/ListDir",
        ::connectrpc::StreamType::Unary,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `MakeDir` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_MAKE_DIR_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/MakeDir",
        ::connectrpc::StreamType::Unary,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `RemovePath` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_REMOVE_PATH_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/RemovePath",
        ::connectrpc::StreamType::Unary,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Static [`Spec`](::connectrpc::Spec) for the `GetCapsuleMetrics` RPC, as seen by the server; the generated client passes it with [`origin`](::connectrpc::Spec::origin) `Client` (compare across sides with [`Spec::same_method`](::connectrpc::Spec::same_method)).
pub const HOST_AGENT_SERVICE_GET_CAPSULE_METRICS_SPEC: ::connectrpc::Spec = ::connectrpc::Spec::server(
        "/hostagent.v1.HostAgentService/GetCapsuleMetrics",
        ::connectrpc::StreamType::Unary,
    )
    .with_idempotency_level(::connectrpc::IdempotencyLevel::Unknown);
/// Server trait for HostAgentService.
///
/// # Implementing handlers
///
/// Implement methods with plain `async fn`; the returned future satisfies
/// the `Send` bound automatically.
///
/// **Unary and server-streaming requests** arrive as
/// [`ServiceRequest<'_, Req>`](::connectrpc::ServiceRequest): a zero-copy
/// view of the request plus its body, valid for the duration of the call.
/// Fields are read directly (`request.name` is a `&str` into the decoded
/// buffer) and the borrow may be held across `.await` points. Anything
/// that must outlive the call — `tokio::spawn`, channels, server state,
/// or data captured by a returned response stream — takes owned data:
/// call `request.to_owned_message()` (or copy the specific fields)
/// first.
///
/// **Client-streaming and bidi requests** arrive as
/// [`InboundStream<Req>`](::connectrpc::InboundStream) — a
/// `ServiceStream` of [`StreamMessage`](::connectrpc::StreamMessage)s.
/// Each item owns its decoded buffer and is `Send + 'static`, so items
/// can be buffered or moved into spawned tasks; read fields zero-copy
/// through the generated accessor methods (`item.name()`) or `.view()`,
/// convert with `.to_owned_message()`, or yield an item back unchanged —
/// `StreamMessage<M>` implements `Encodable<M>`.
///
/// Request types resolved through `extern_path` (e.g. well-known types
/// from another crate) use the same wrappers; the crate that owns the
/// type must be generated with buffa ≥ 0.9.0 and views enabled so the
/// backing `HasMessageView` impl exists.
///
/// The `impl Encodable<Out>` return bound accepts the owned `Out`, the
/// generated `OutView<'_>` / `OwnedOutView`,
/// [`MaybeBorrowed`](::connectrpc::MaybeBorrowed), or
/// [`PreEncoded`](::connectrpc::PreEncoded) for handlers that encode a
/// non-`'static` view internally and pass the bytes across the handler
/// boundary. View bodies are not emitted for output types mapped via
/// `extern_path` (the impl would be an orphan); return owned for
/// WKT/extern outputs.
///
/// Server-streaming and bidi-streaming methods return
/// `ServiceStream<impl Encodable<Out> + Send + use<Self>>`. The
/// `use<Self>` precise-capturing clause excludes `&self`'s lifetime and
/// the request's lifetime (unary methods use `use<'a, Self>` and may
/// borrow from `&self`), so stream items must be `'static` and cannot
/// borrow from the request. To stream view-encoded data, encode each
/// item inside the stream body and yield
/// [`PreEncoded`](::connectrpc::PreEncoded) — see its `# Streaming
/// example` doc.
#[allow(clippy::type_complexity)]
pub trait HostAgentService: Send + Sync + 'static {
    /// Host.
    ///
    /// `'a` lets the response body borrow from `&self` (e.g. server-resident state).
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call; message fields are read directly on it
    /// (zero-copy). The response cannot borrow from `request` — use
    /// `.to_owned_message()` (or copy the specific fields) for anything
    /// returned, stored, or moved into `tokio::spawn`.
    fn get_host_info<'a>(
        &'a self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, GetHostInfoRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            impl ::connectrpc::Encodable<GetHostInfoResponse> + Send + use<'a, Self>,
        >,
    > + Send;
    /// Capsule lifecycle.
    ///
    /// `'a` lets the response body borrow from `&self` (e.g. server-resident state).
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call; message fields are read directly on it
    /// (zero-copy). The response cannot borrow from `request` — use
    /// `.to_owned_message()` (or copy the specific fields) for anything
    /// returned, stored, or moved into `tokio::spawn`.
    fn create_capsule<'a>(
        &'a self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, CreateCapsuleRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            impl ::connectrpc::Encodable<CreateCapsuleResponse> + Send + use<'a, Self>,
        >,
    > + Send;
    /// Handle the DestroyCapsule RPC.
    ///
    /// `'a` lets the response body borrow from `&self` (e.g. server-resident state).
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call; message fields are read directly on it
    /// (zero-copy). The response cannot borrow from `request` — use
    /// `.to_owned_message()` (or copy the specific fields) for anything
    /// returned, stored, or moved into `tokio::spawn`.
    fn destroy_capsule<'a>(
        &'a self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, DestroyCapsuleRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            impl ::connectrpc::Encodable<DestroyCapsuleResponse> + Send + use<'a, Self>,
        >,
    > + Send;
    /// Handle the PauseCapsule RPC.
    ///
    /// `'a` lets the response body borrow from `&self` (e.g. server-resident state).
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call; message fields are read directly on it
    /// (zero-copy). The response cannot borrow from `request` — use
    /// `.to_owned_message()` (or copy the specific fields) for anything
    /// returned, stored, or moved into `tokio::spawn`.
    fn pause_capsule<'a>(
        &'a self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, PauseCapsuleRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            impl ::connectrpc::Encodable<PauseCapsuleResponse> + Send + use<'a, Self>,
        >,
    > + Send;
    /// Handle the ResumeCapsule RPC.
    ///
    /// `'a` lets the response body borrow from `&self` (e.g. server-resident state).
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call; message fields are read directly on it
    /// (zero-copy). The response cannot borrow from `request` — use
    /// `.to_owned_message()` (or copy the specific fields) for anything
    /// returned, stored, or moved into `tokio::spawn`.
    fn resume_capsule<'a>(
        &'a self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, ResumeCapsuleRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            impl ::connectrpc::Encodable<ResumeCapsuleResponse> + Send + use<'a, Self>,
        >,
    > + Send;
    /// Handle the HibernateCapsule RPC.
    ///
    /// `'a` lets the response body borrow from `&self` (e.g. server-resident state).
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call; message fields are read directly on it
    /// (zero-copy). The response cannot borrow from `request` — use
    /// `.to_owned_message()` (or copy the specific fields) for anything
    /// returned, stored, or moved into `tokio::spawn`.
    fn hibernate_capsule<'a>(
        &'a self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, HibernateCapsuleRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            impl ::connectrpc::Encodable<HibernateCapsuleResponse> + Send + use<'a, Self>,
        >,
    > + Send;
    /// Handle the PingCapsule RPC.
    ///
    /// `'a` lets the response body borrow from `&self` (e.g. server-resident state).
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call; message fields are read directly on it
    /// (zero-copy). The response cannot borrow from `request` — use
    /// `.to_owned_message()` (or copy the specific fields) for anything
    /// returned, stored, or moved into `tokio::spawn`.
    fn ping_capsule<'a>(
        &'a self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, PingCapsuleRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            impl ::connectrpc::Encodable<PingCapsuleResponse> + Send + use<'a, Self>,
        >,
    > + Send;
    /// Handle the ListCapsules RPC.
    ///
    /// `'a` lets the response body borrow from `&self` (e.g. server-resident state).
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call; message fields are read directly on it
    /// (zero-copy). The response cannot borrow from `request` — use
    /// `.to_owned_message()` (or copy the specific fields) for anything
    /// returned, stored, or moved into `tokio::spawn`.
    fn list_capsules<'a>(
        &'a self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, ListCapsulesRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            impl ::connectrpc::Encodable<ListCapsulesResponse> + Send + use<'a, Self>,
        >,
    > + Send;
    /// Templates.
    ///
    /// `'a` lets the response body borrow from `&self` (e.g. server-resident state).
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call; message fields are read directly on it
    /// (zero-copy). The response cannot borrow from `request` — use
    /// `.to_owned_message()` (or copy the specific fields) for anything
    /// returned, stored, or moved into `tokio::spawn`.
    fn snapshot_capsule<'a>(
        &'a self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, SnapshotCapsuleRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            impl ::connectrpc::Encodable<SnapshotCapsuleResponse> + Send + use<'a, Self>,
        >,
    > + Send;
    /// Handle the ListTemplates RPC.
    ///
    /// `'a` lets the response body borrow from `&self` (e.g. server-resident state).
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call; message fields are read directly on it
    /// (zero-copy). The response cannot borrow from `request` — use
    /// `.to_owned_message()` (or copy the specific fields) for anything
    /// returned, stored, or moved into `tokio::spawn`.
    fn list_templates<'a>(
        &'a self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, ListTemplatesRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            impl ::connectrpc::Encodable<ListTemplatesResponse> + Send + use<'a, Self>,
        >,
    > + Send;
    /// Handle the DeleteTemplate RPC.
    ///
    /// `'a` lets the response body borrow from `&self` (e.g. server-resident state).
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call; message fields are read directly on it
    /// (zero-copy). The response cannot borrow from `request` — use
    /// `.to_owned_message()` (or copy the specific fields) for anything
    /// returned, stored, or moved into `tokio::spawn`.
    fn delete_template<'a>(
        &'a self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, DeleteTemplateRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            impl ::connectrpc::Encodable<DeleteTemplateResponse> + Send + use<'a, Self>,
        >,
    > + Send;
    /// Processes.
    ///
    /// `'a` lets the response body borrow from `&self` (e.g. server-resident state).
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call; message fields are read directly on it
    /// (zero-copy). The response cannot borrow from `request` — use
    /// `.to_owned_message()` (or copy the specific fields) for anything
    /// returned, stored, or moved into `tokio::spawn`.
    fn exec<'a>(
        &'a self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, ExecRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            impl ::connectrpc::Encodable<ExecResponse> + Send + use<'a, Self>,
        >,
    > + Send;
    /// Handle the ExecStream RPC.
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call (until the response stream is returned);
    /// message fields are read directly on it (zero-copy). Data the
    /// returned stream needs must be copied out or converted via
    /// `.to_owned_message()`.
    fn exec_stream(
        &self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, ExecRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            ::connectrpc::ServiceStream<
                impl ::connectrpc::Encodable<ExecStreamResponse> + Send + use<Self>,
            >,
        >,
    > + Send;
    /// Handle the StartBackground RPC.
    ///
    /// `'a` lets the response body borrow from `&self` (e.g. server-resident state).
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call; message fields are read directly on it
    /// (zero-copy). The response cannot borrow from `request` — use
    /// `.to_owned_message()` (or copy the specific fields) for anything
    /// returned, stored, or moved into `tokio::spawn`.
    fn start_background<'a>(
        &'a self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, StartBackgroundRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            impl ::connectrpc::Encodable<StartBackgroundResponse> + Send + use<'a, Self>,
        >,
    > + Send;
    /// Handle the ListProcesses RPC.
    ///
    /// `'a` lets the response body borrow from `&self` (e.g. server-resident state).
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call; message fields are read directly on it
    /// (zero-copy). The response cannot borrow from `request` — use
    /// `.to_owned_message()` (or copy the specific fields) for anything
    /// returned, stored, or moved into `tokio::spawn`.
    fn list_processes<'a>(
        &'a self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, ListProcessesRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            impl ::connectrpc::Encodable<ListProcessesResponse> + Send + use<'a, Self>,
        >,
    > + Send;
    /// Handle the KillProcess RPC.
    ///
    /// `'a` lets the response body borrow from `&self` (e.g. server-resident state).
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call; message fields are read directly on it
    /// (zero-copy). The response cannot borrow from `request` — use
    /// `.to_owned_message()` (or copy the specific fields) for anything
    /// returned, stored, or moved into `tokio::spawn`.
    fn kill_process<'a>(
        &'a self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, KillProcessRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            impl ::connectrpc::Encodable<KillProcessResponse> + Send + use<'a, Self>,
        >,
    > + Send;
    /// Handle the ConnectProcess RPC.
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call (until the response stream is returned);
    /// message fields are read directly on it (zero-copy). Data the
    /// returned stream needs must be copied out or converted via
    /// `.to_owned_message()`.
    fn connect_process(
        &self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, ConnectProcessRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            ::connectrpc::ServiceStream<
                impl ::connectrpc::Encodable<ExecStreamResponse> + Send + use<Self>,
            >,
        >,
    > + Send;
    /// Interactive terminals.
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call (until the response stream is returned);
    /// message fields are read directly on it (zero-copy). Data the
    /// returned stream needs must be copied out or converted via
    /// `.to_owned_message()`.
    fn pty_attach(
        &self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, PtyAttachRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            ::connectrpc::ServiceStream<
                impl ::connectrpc::Encodable<PtyAttachResponse> + Send + use<Self>,
            >,
        >,
    > + Send;
    /// Handle the PtySendInput RPC.
    ///
    /// `'a` lets the response body borrow from `&self` (e.g. server-resident state).
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call; message fields are read directly on it
    /// (zero-copy). The response cannot borrow from `request` — use
    /// `.to_owned_message()` (or copy the specific fields) for anything
    /// returned, stored, or moved into `tokio::spawn`.
    fn pty_send_input<'a>(
        &'a self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, PtySendInputRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            impl ::connectrpc::Encodable<PtySendInputResponse> + Send + use<'a, Self>,
        >,
    > + Send;
    /// Handle the PtyResize RPC.
    ///
    /// `'a` lets the response body borrow from `&self` (e.g. server-resident state).
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call; message fields are read directly on it
    /// (zero-copy). The response cannot borrow from `request` — use
    /// `.to_owned_message()` (or copy the specific fields) for anything
    /// returned, stored, or moved into `tokio::spawn`.
    fn pty_resize<'a>(
        &'a self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, PtyResizeRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            impl ::connectrpc::Encodable<PtyResizeResponse> + Send + use<'a, Self>,
        >,
    > + Send;
    /// Handle the PtyKill RPC.
    ///
    /// `'a` lets the response body borrow from `&self` (e.g. server-resident state).
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call; message fields are read directly on it
    /// (zero-copy). The response cannot borrow from `request` — use
    /// `.to_owned_message()` (or copy the specific fields) for anything
    /// returned, stored, or moved into `tokio::spawn`.
    fn pty_kill<'a>(
        &'a self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, PtyKillRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            impl ::connectrpc::Encodable<PtyKillResponse> + Send + use<'a, Self>,
        >,
    > + Send;
    /// Files.
    ///
    /// `'a` lets the response body borrow from `&self` (e.g. server-resident state).
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call; message fields are read directly on it
    /// (zero-copy). The response cannot borrow from `request` — use
    /// `.to_owned_message()` (or copy the specific fields) for anything
    /// returned, stored, or moved into `tokio::spawn`.
    fn read_file<'a>(
        &'a self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, ReadFileRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            impl ::connectrpc::Encodable<ReadFileResponse> + Send + use<'a, Self>,
        >,
    > + Send;
    /// Handle the WriteFile RPC.
    ///
    /// `'a` lets the response body borrow from `&self` (e.g. server-resident state).
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call; message fields are read directly on it
    /// (zero-copy). The response cannot borrow from `request` — use
    /// `.to_owned_message()` (or copy the specific fields) for anything
    /// returned, stored, or moved into `tokio::spawn`.
    fn write_file<'a>(
        &'a self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, WriteFileRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            impl ::connectrpc::Encodable<WriteFileResponse> + Send + use<'a, Self>,
        >,
    > + Send;
    /// Handle the ReadFileStream RPC.
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call (until the response stream is returned);
    /// message fields are read directly on it (zero-copy). Data the
    /// returned stream needs must be copied out or converted via
    /// `.to_owned_message()`.
    fn read_file_stream(
        &self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, ReadFileRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            ::connectrpc::ServiceStream<
                impl ::connectrpc::Encodable<FileChunk> + Send + use<Self>,
            >,
        >,
    > + Send;
    /// Handle the WriteFileStream RPC.
    ///
    /// `'a` lets the response body borrow from `&self` (e.g. server-resident state).
    ///
    /// Each `requests` item is a [`StreamMessage`](::connectrpc::StreamMessage):
    /// it owns its buffer, is `Send + 'static`, and exposes zero-copy
    /// accessor methods (`item.name()`), `.view()`, and
    /// `.to_owned_message()`.
    fn write_file_stream<'a>(
        &'a self,
        ctx: ::connectrpc::RequestContext,
        requests: ::connectrpc::InboundStream<WriteFileStreamRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            impl ::connectrpc::Encodable<WriteFileResponse> + Send + use<'a, Self>,
        >,
    > + Send;
    /// Handle the ListDir RPC.
    ///
    /// `'a` lets the response body borrow from `&self` (e.g. server-resident state).
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call; message fields are read directly on it
    /// (zero-copy). The response cannot borrow from `request` — use
    /// `.to_owned_message()` (or copy the specific fields) for anything
    /// returned, stored, or moved into `tokio::spawn`.
    fn list_dir<'a>(
        &'a self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, ListDirRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            impl ::connectrpc::Encodable<ListDirResponse> + Send + use<'a, Self>,
        >,
    > + Send;
    /// Handle the MakeDir RPC.
    ///
    /// `'a` lets the response body borrow from `&self` (e.g. server-resident state).
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call; message fields are read directly on it
    /// (zero-copy). The response cannot borrow from `request` — use
    /// `.to_owned_message()` (or copy the specific fields) for anything
    /// returned, stored, or moved into `tokio::spawn`.
    fn make_dir<'a>(
        &'a self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, MakeDirRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            impl ::connectrpc::Encodable<MakeDirResponse> + Send + use<'a, Self>,
        >,
    > + Send;
    /// Handle the RemovePath RPC.
    ///
    /// `'a` lets the response body borrow from `&self` (e.g. server-resident state).
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call; message fields are read directly on it
    /// (zero-copy). The response cannot borrow from `request` — use
    /// `.to_owned_message()` (or copy the specific fields) for anything
    /// returned, stored, or moved into `tokio::spawn`.
    fn remove_path<'a>(
        &'a self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, RemovePathRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            impl ::connectrpc::Encodable<RemovePathResponse> + Send + use<'a, Self>,
        >,
    > + Send;
    /// Metrics.
    ///
    /// `'a` lets the response body borrow from `&self` (e.g. server-resident state).
    ///
    /// `request` is borrowed from the request body and is valid for the
    /// duration of the call; message fields are read directly on it
    /// (zero-copy). The response cannot borrow from `request` — use
    /// `.to_owned_message()` (or copy the specific fields) for anything
    /// returned, stored, or moved into `tokio::spawn`.
    fn get_capsule_metrics<'a>(
        &'a self,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::ServiceRequest<'_, GetCapsuleMetricsRequest>,
    ) -> impl ::std::future::Future<
        Output = ::connectrpc::ServiceResult<
            impl ::connectrpc::Encodable<
                GetCapsuleMetricsResponse,
            > + Send + use<'a, Self>,
        >,
    > + Send;
}
/// Extension trait for registering a service implementation with a Router.
///
/// This trait is automatically implemented for all types that implement the service trait.
/// Prefer [`Router::add_service`](::connectrpc::Router::add_service) for
/// top-down registration; `register` remains available for compatibility
/// and cases where the service-first call shape is more convenient.
///
/// # Example
///
/// ```rust,ignore
/// use std::sync::Arc;
///
/// let service = Arc::new(MyServiceImpl);
/// let router = service.register(Router::new());
/// ```
pub trait HostAgentServiceExt: HostAgentService {
    /// Register this service implementation with a Router.
    ///
    /// Takes ownership of the `Arc<Self>` and returns a new Router with
    /// this service's methods registered.
    fn register(
        self: ::std::sync::Arc<Self>,
        router: ::connectrpc::Router,
    ) -> ::connectrpc::Router;
}
impl<S: HostAgentService> HostAgentServiceExt for S {
    fn register(
        self: ::std::sync::Arc<Self>,
        router: ::connectrpc::Router,
    ) -> ::connectrpc::Router {
        router
            .route_view(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "GetHostInfo",
                {
                    let svc = ::std::sync::Arc::clone(&self);
                    ::connectrpc::view_handler_fn(move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::GetHostInfoRequestView<'static>,
                        >,
                        format|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                GetHostInfoRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.get_host_info(ctx, sreq)
                                .await?
                                .encode::<GetHostInfoResponse>(format)
                        }
                    })
                },
            )
            .with_spec(HOST_AGENT_SERVICE_GET_HOST_INFO_SPEC)
            .route_view(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "CreateCapsule",
                {
                    let svc = ::std::sync::Arc::clone(&self);
                    ::connectrpc::view_handler_fn(move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::CreateCapsuleRequestView<'static>,
                        >,
                        format|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                CreateCapsuleRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.create_capsule(ctx, sreq)
                                .await?
                                .encode::<CreateCapsuleResponse>(format)
                        }
                    })
                },
            )
            .with_spec(HOST_AGENT_SERVICE_CREATE_CAPSULE_SPEC)
            .route_view(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "DestroyCapsule",
                {
                    let svc = ::std::sync::Arc::clone(&self);
                    ::connectrpc::view_handler_fn(move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::DestroyCapsuleRequestView<'static>,
                        >,
                        format|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                DestroyCapsuleRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.destroy_capsule(ctx, sreq)
                                .await?
                                .encode::<DestroyCapsuleResponse>(format)
                        }
                    })
                },
            )
            .with_spec(HOST_AGENT_SERVICE_DESTROY_CAPSULE_SPEC)
            .route_view(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "PauseCapsule",
                {
                    let svc = ::std::sync::Arc::clone(&self);
                    ::connectrpc::view_handler_fn(move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::PauseCapsuleRequestView<'static>,
                        >,
                        format|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                PauseCapsuleRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.pause_capsule(ctx, sreq)
                                .await?
                                .encode::<PauseCapsuleResponse>(format)
                        }
                    })
                },
            )
            .with_spec(HOST_AGENT_SERVICE_PAUSE_CAPSULE_SPEC)
            .route_view(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "ResumeCapsule",
                {
                    let svc = ::std::sync::Arc::clone(&self);
                    ::connectrpc::view_handler_fn(move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::ResumeCapsuleRequestView<'static>,
                        >,
                        format|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                ResumeCapsuleRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.resume_capsule(ctx, sreq)
                                .await?
                                .encode::<ResumeCapsuleResponse>(format)
                        }
                    })
                },
            )
            .with_spec(HOST_AGENT_SERVICE_RESUME_CAPSULE_SPEC)
            .route_view(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "HibernateCapsule",
                {
                    let svc = ::std::sync::Arc::clone(&self);
                    ::connectrpc::view_handler_fn(move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::HibernateCapsuleRequestView<'static>,
                        >,
                        format|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                HibernateCapsuleRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.hibernate_capsule(ctx, sreq)
                                .await?
                                .encode::<HibernateCapsuleResponse>(format)
                        }
                    })
                },
            )
            .with_spec(HOST_AGENT_SERVICE_HIBERNATE_CAPSULE_SPEC)
            .route_view(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "PingCapsule",
                {
                    let svc = ::std::sync::Arc::clone(&self);
                    ::connectrpc::view_handler_fn(move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::PingCapsuleRequestView<'static>,
                        >,
                        format|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                PingCapsuleRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.ping_capsule(ctx, sreq)
                                .await?
                                .encode::<PingCapsuleResponse>(format)
                        }
                    })
                },
            )
            .with_spec(HOST_AGENT_SERVICE_PING_CAPSULE_SPEC)
            .route_view(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "ListCapsules",
                {
                    let svc = ::std::sync::Arc::clone(&self);
                    ::connectrpc::view_handler_fn(move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::ListCapsulesRequestView<'static>,
                        >,
                        format|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                ListCapsulesRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.list_capsules(ctx, sreq)
                                .await?
                                .encode::<ListCapsulesResponse>(format)
                        }
                    })
                },
            )
            .with_spec(HOST_AGENT_SERVICE_LIST_CAPSULES_SPEC)
            .route_view(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "SnapshotCapsule",
                {
                    let svc = ::std::sync::Arc::clone(&self);
                    ::connectrpc::view_handler_fn(move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::SnapshotCapsuleRequestView<'static>,
                        >,
                        format|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                SnapshotCapsuleRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.snapshot_capsule(ctx, sreq)
                                .await?
                                .encode::<SnapshotCapsuleResponse>(format)
                        }
                    })
                },
            )
            .with_spec(HOST_AGENT_SERVICE_SNAPSHOT_CAPSULE_SPEC)
            .route_view(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "ListTemplates",
                {
                    let svc = ::std::sync::Arc::clone(&self);
                    ::connectrpc::view_handler_fn(move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::ListTemplatesRequestView<'static>,
                        >,
                        format|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                ListTemplatesRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.list_templates(ctx, sreq)
                                .await?
                                .encode::<ListTemplatesResponse>(format)
                        }
                    })
                },
            )
            .with_spec(HOST_AGENT_SERVICE_LIST_TEMPLATES_SPEC)
            .route_view(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "DeleteTemplate",
                {
                    let svc = ::std::sync::Arc::clone(&self);
                    ::connectrpc::view_handler_fn(move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::DeleteTemplateRequestView<'static>,
                        >,
                        format|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                DeleteTemplateRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.delete_template(ctx, sreq)
                                .await?
                                .encode::<DeleteTemplateResponse>(format)
                        }
                    })
                },
            )
            .with_spec(HOST_AGENT_SERVICE_DELETE_TEMPLATE_SPEC)
            .route_view(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "Exec",
                {
                    let svc = ::std::sync::Arc::clone(&self);
                    ::connectrpc::view_handler_fn(move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::ExecRequestView<'static>,
                        >,
                        format|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                ExecRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.exec(ctx, sreq).await?.encode::<ExecResponse>(format)
                        }
                    })
                },
            )
            .with_spec(HOST_AGENT_SERVICE_EXEC_SPEC)
            .route_view_server_stream::<
                _,
                _,
                ExecStreamResponse,
            >(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "ExecStream",
                ::connectrpc::view_streaming_handler_fn({
                    let svc = ::std::sync::Arc::clone(&self);
                    move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::ExecRequestView<'static>,
                        >|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                ExecRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.exec_stream(ctx, sreq).await
                        }
                    }
                }),
            )
            .with_spec(HOST_AGENT_SERVICE_EXEC_STREAM_SPEC)
            .route_view(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "StartBackground",
                {
                    let svc = ::std::sync::Arc::clone(&self);
                    ::connectrpc::view_handler_fn(move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::StartBackgroundRequestView<'static>,
                        >,
                        format|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                StartBackgroundRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.start_background(ctx, sreq)
                                .await?
                                .encode::<StartBackgroundResponse>(format)
                        }
                    })
                },
            )
            .with_spec(HOST_AGENT_SERVICE_START_BACKGROUND_SPEC)
            .route_view(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "ListProcesses",
                {
                    let svc = ::std::sync::Arc::clone(&self);
                    ::connectrpc::view_handler_fn(move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::ListProcessesRequestView<'static>,
                        >,
                        format|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                ListProcessesRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.list_processes(ctx, sreq)
                                .await?
                                .encode::<ListProcessesResponse>(format)
                        }
                    })
                },
            )
            .with_spec(HOST_AGENT_SERVICE_LIST_PROCESSES_SPEC)
            .route_view(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "KillProcess",
                {
                    let svc = ::std::sync::Arc::clone(&self);
                    ::connectrpc::view_handler_fn(move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::KillProcessRequestView<'static>,
                        >,
                        format|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                KillProcessRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.kill_process(ctx, sreq)
                                .await?
                                .encode::<KillProcessResponse>(format)
                        }
                    })
                },
            )
            .with_spec(HOST_AGENT_SERVICE_KILL_PROCESS_SPEC)
            .route_view_server_stream::<
                _,
                _,
                ExecStreamResponse,
            >(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "ConnectProcess",
                ::connectrpc::view_streaming_handler_fn({
                    let svc = ::std::sync::Arc::clone(&self);
                    move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::ConnectProcessRequestView<'static>,
                        >|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                ConnectProcessRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.connect_process(ctx, sreq).await
                        }
                    }
                }),
            )
            .with_spec(HOST_AGENT_SERVICE_CONNECT_PROCESS_SPEC)
            .route_view_server_stream::<
                _,
                _,
                PtyAttachResponse,
            >(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "PtyAttach",
                ::connectrpc::view_streaming_handler_fn({
                    let svc = ::std::sync::Arc::clone(&self);
                    move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::PtyAttachRequestView<'static>,
                        >|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                PtyAttachRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.pty_attach(ctx, sreq).await
                        }
                    }
                }),
            )
            .with_spec(HOST_AGENT_SERVICE_PTY_ATTACH_SPEC)
            .route_view(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "PtySendInput",
                {
                    let svc = ::std::sync::Arc::clone(&self);
                    ::connectrpc::view_handler_fn(move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::PtySendInputRequestView<'static>,
                        >,
                        format|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                PtySendInputRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.pty_send_input(ctx, sreq)
                                .await?
                                .encode::<PtySendInputResponse>(format)
                        }
                    })
                },
            )
            .with_spec(HOST_AGENT_SERVICE_PTY_SEND_INPUT_SPEC)
            .route_view(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "PtyResize",
                {
                    let svc = ::std::sync::Arc::clone(&self);
                    ::connectrpc::view_handler_fn(move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::PtyResizeRequestView<'static>,
                        >,
                        format|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                PtyResizeRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.pty_resize(ctx, sreq)
                                .await?
                                .encode::<PtyResizeResponse>(format)
                        }
                    })
                },
            )
            .with_spec(HOST_AGENT_SERVICE_PTY_RESIZE_SPEC)
            .route_view(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "PtyKill",
                {
                    let svc = ::std::sync::Arc::clone(&self);
                    ::connectrpc::view_handler_fn(move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::PtyKillRequestView<'static>,
                        >,
                        format|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                PtyKillRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.pty_kill(ctx, sreq)
                                .await?
                                .encode::<PtyKillResponse>(format)
                        }
                    })
                },
            )
            .with_spec(HOST_AGENT_SERVICE_PTY_KILL_SPEC)
            .route_view(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "ReadFile",
                {
                    let svc = ::std::sync::Arc::clone(&self);
                    ::connectrpc::view_handler_fn(move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::ReadFileRequestView<'static>,
                        >,
                        format|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                ReadFileRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.read_file(ctx, sreq)
                                .await?
                                .encode::<ReadFileResponse>(format)
                        }
                    })
                },
            )
            .with_spec(HOST_AGENT_SERVICE_READ_FILE_SPEC)
            .route_view(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "WriteFile",
                {
                    let svc = ::std::sync::Arc::clone(&self);
                    ::connectrpc::view_handler_fn(move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::WriteFileRequestView<'static>,
                        >,
                        format|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                WriteFileRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.write_file(ctx, sreq)
                                .await?
                                .encode::<WriteFileResponse>(format)
                        }
                    })
                },
            )
            .with_spec(HOST_AGENT_SERVICE_WRITE_FILE_SPEC)
            .route_view_server_stream::<
                _,
                _,
                FileChunk,
            >(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "ReadFileStream",
                ::connectrpc::view_streaming_handler_fn({
                    let svc = ::std::sync::Arc::clone(&self);
                    move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::ReadFileRequestView<'static>,
                        >|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                ReadFileRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.read_file_stream(ctx, sreq).await
                        }
                    }
                }),
            )
            .with_spec(HOST_AGENT_SERVICE_READ_FILE_STREAM_SPEC)
            .route_view_client_stream(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "WriteFileStream",
                ::connectrpc::view_client_streaming_handler_fn({
                    let svc = ::std::sync::Arc::clone(&self);
                    move |ctx, req, format| {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let req = ::connectrpc::dispatcher::codegen::into_stream_messages::<
                                WriteFileStreamRequest,
                            >(req);
                            svc.write_file_stream(ctx, req)
                                .await?
                                .encode::<WriteFileResponse>(format)
                        }
                    }
                }),
            )
            .with_spec(HOST_AGENT_SERVICE_WRITE_FILE_STREAM_SPEC)
            .route_view(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "ListDir",
                {
                    let svc = ::std::sync::Arc::clone(&self);
                    ::connectrpc::view_handler_fn(move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::ListDirRequestView<'static>,
                        >,
                        format|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                ListDirRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.list_dir(ctx, sreq)
                                .await?
                                .encode::<ListDirResponse>(format)
                        }
                    })
                },
            )
            .with_spec(HOST_AGENT_SERVICE_LIST_DIR_SPEC)
            .route_view(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "MakeDir",
                {
                    let svc = ::std::sync::Arc::clone(&self);
                    ::connectrpc::view_handler_fn(move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::MakeDirRequestView<'static>,
                        >,
                        format|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                MakeDirRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.make_dir(ctx, sreq)
                                .await?
                                .encode::<MakeDirResponse>(format)
                        }
                    })
                },
            )
            .with_spec(HOST_AGENT_SERVICE_MAKE_DIR_SPEC)
            .route_view(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "RemovePath",
                {
                    let svc = ::std::sync::Arc::clone(&self);
                    ::connectrpc::view_handler_fn(move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::RemovePathRequestView<'static>,
                        >,
                        format|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                RemovePathRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.remove_path(ctx, sreq)
                                .await?
                                .encode::<RemovePathResponse>(format)
                        }
                    })
                },
            )
            .with_spec(HOST_AGENT_SERVICE_REMOVE_PATH_SPEC)
            .route_view(
                HOST_AGENT_SERVICE_SERVICE_NAME,
                "GetCapsuleMetrics",
                {
                    let svc = ::std::sync::Arc::clone(&self);
                    ::connectrpc::view_handler_fn(move |
                        ctx,
                        req: ::buffa::view::OwnedView<
                            __buffa::view::GetCapsuleMetricsRequestView<'static>,
                        >,
                        format|
                    {
                        let svc = ::std::sync::Arc::clone(&svc);
                        async move {
                            let sreq = ::connectrpc::ServiceRequest::<
                                GetCapsuleMetricsRequest,
                            >::from_parts(req.reborrow(), req.bytes());
                            svc.get_capsule_metrics(ctx, sreq)
                                .await?
                                .encode::<GetCapsuleMetricsResponse>(format)
                        }
                    })
                },
            )
            .with_spec(HOST_AGENT_SERVICE_GET_CAPSULE_METRICS_SPEC)
    }
}
/// Type-inference marker used by [`Router::add_service`](::connectrpc::Router::add_service).
#[doc(hidden)]
pub struct HostAgentServiceRegisterMarker;
impl<S: HostAgentService> ::connectrpc::ServiceRegister<HostAgentServiceRegisterMarker>
for ::std::sync::Arc<S> {
    fn register_service(self, router: ::connectrpc::Router) -> ::connectrpc::Router {
        <S as HostAgentServiceExt>::register(self, router)
    }
}
/// Monomorphic dispatcher for `HostAgentService`.
///
/// Unlike `.register(Router)` which type-erases each method into an `Arc<dyn ErasedHandler>` stored in a `HashMap`, this struct dispatches via a compile-time `match` on method name: no vtable, no hash lookup.
///
/// # Example
///
/// ```rust,ignore
/// use connectrpc::ConnectRpcService;
///
/// let server = HostAgentServiceServer::new(MyImpl);
/// let service = ConnectRpcService::new(server);
/// // hand `service` to axum/hyper as a fallback_service
/// ```
pub struct HostAgentServiceServer<T> {
    inner: ::std::sync::Arc<T>,
}
impl<T: HostAgentService> HostAgentServiceServer<T> {
    /// Wrap a service implementation in a monomorphic dispatcher.
    pub fn new(service: T) -> Self {
        Self {
            inner: ::std::sync::Arc::new(service),
        }
    }
    /// Wrap an already-`Arc`'d service implementation.
    pub fn from_arc(inner: ::std::sync::Arc<T>) -> Self {
        Self { inner }
    }
}
impl<T> Clone for HostAgentServiceServer<T> {
    fn clone(&self) -> Self {
        Self {
            inner: ::std::sync::Arc::clone(&self.inner),
        }
    }
}
impl<T: HostAgentService> ::connectrpc::Dispatcher for HostAgentServiceServer<T> {
    #[inline]
    fn lookup(
        &self,
        path: &str,
    ) -> Option<::connectrpc::dispatcher::codegen::MethodDescriptor> {
        let method = path.strip_prefix("hostagent.v1.HostAgentService/")?;
        match method {
            "GetHostInfo" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::unary(false)
                        .with_spec(HOST_AGENT_SERVICE_GET_HOST_INFO_SPEC),
                )
            }
            "CreateCapsule" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::unary(false)
                        .with_spec(HOST_AGENT_SERVICE_CREATE_CAPSULE_SPEC),
                )
            }
            "DestroyCapsule" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::unary(false)
                        .with_spec(HOST_AGENT_SERVICE_DESTROY_CAPSULE_SPEC),
                )
            }
            "PauseCapsule" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::unary(false)
                        .with_spec(HOST_AGENT_SERVICE_PAUSE_CAPSULE_SPEC),
                )
            }
            "ResumeCapsule" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::unary(false)
                        .with_spec(HOST_AGENT_SERVICE_RESUME_CAPSULE_SPEC),
                )
            }
            "HibernateCapsule" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::unary(false)
                        .with_spec(HOST_AGENT_SERVICE_HIBERNATE_CAPSULE_SPEC),
                )
            }
            "PingCapsule" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::unary(false)
                        .with_spec(HOST_AGENT_SERVICE_PING_CAPSULE_SPEC),
                )
            }
            "ListCapsules" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::unary(false)
                        .with_spec(HOST_AGENT_SERVICE_LIST_CAPSULES_SPEC),
                )
            }
            "SnapshotCapsule" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::unary(false)
                        .with_spec(HOST_AGENT_SERVICE_SNAPSHOT_CAPSULE_SPEC),
                )
            }
            "ListTemplates" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::unary(false)
                        .with_spec(HOST_AGENT_SERVICE_LIST_TEMPLATES_SPEC),
                )
            }
            "DeleteTemplate" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::unary(false)
                        .with_spec(HOST_AGENT_SERVICE_DELETE_TEMPLATE_SPEC),
                )
            }
            "Exec" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::unary(false)
                        .with_spec(HOST_AGENT_SERVICE_EXEC_SPEC),
                )
            }
            "ExecStream" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::server_streaming()
                        .with_spec(HOST_AGENT_SERVICE_EXEC_STREAM_SPEC),
                )
            }
            "StartBackground" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::unary(false)
                        .with_spec(HOST_AGENT_SERVICE_START_BACKGROUND_SPEC),
                )
            }
            "ListProcesses" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::unary(false)
                        .with_spec(HOST_AGENT_SERVICE_LIST_PROCESSES_SPEC),
                )
            }
            "KillProcess" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::unary(false)
                        .with_spec(HOST_AGENT_SERVICE_KILL_PROCESS_SPEC),
                )
            }
            "ConnectProcess" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::server_streaming()
                        .with_spec(HOST_AGENT_SERVICE_CONNECT_PROCESS_SPEC),
                )
            }
            "PtyAttach" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::server_streaming()
                        .with_spec(HOST_AGENT_SERVICE_PTY_ATTACH_SPEC),
                )
            }
            "PtySendInput" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::unary(false)
                        .with_spec(HOST_AGENT_SERVICE_PTY_SEND_INPUT_SPEC),
                )
            }
            "PtyResize" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::unary(false)
                        .with_spec(HOST_AGENT_SERVICE_PTY_RESIZE_SPEC),
                )
            }
            "PtyKill" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::unary(false)
                        .with_spec(HOST_AGENT_SERVICE_PTY_KILL_SPEC),
                )
            }
            "ReadFile" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::unary(false)
                        .with_spec(HOST_AGENT_SERVICE_READ_FILE_SPEC),
                )
            }
            "WriteFile" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::unary(false)
                        .with_spec(HOST_AGENT_SERVICE_WRITE_FILE_SPEC),
                )
            }
            "ReadFileStream" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::server_streaming()
                        .with_spec(HOST_AGENT_SERVICE_READ_FILE_STREAM_SPEC),
                )
            }
            "WriteFileStream" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::client_streaming()
                        .with_spec(HOST_AGENT_SERVICE_WRITE_FILE_STREAM_SPEC),
                )
            }
            "ListDir" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::unary(false)
                        .with_spec(HOST_AGENT_SERVICE_LIST_DIR_SPEC),
                )
            }
            "MakeDir" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::unary(false)
                        .with_spec(HOST_AGENT_SERVICE_MAKE_DIR_SPEC),
                )
            }
            "RemovePath" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::unary(false)
                        .with_spec(HOST_AGENT_SERVICE_REMOVE_PATH_SPEC),
                )
            }
            "GetCapsuleMetrics" => {
                Some(
                    ::connectrpc::dispatcher::codegen::MethodDescriptor::unary(false)
                        .with_spec(HOST_AGENT_SERVICE_GET_CAPSULE_METRICS_SPEC),
                )
            }
            _ => None,
        }
    }
    fn call_unary(
        &self,
        path: &str,
        ctx: ::connectrpc::RequestContext,
        request: ::connectrpc::Payload,
        format: ::connectrpc::CodecFormat,
    ) -> ::connectrpc::dispatcher::codegen::UnaryResult {
        let Some(method) = path.strip_prefix("hostagent.v1.HostAgentService/") else {
            return ::connectrpc::dispatcher::codegen::unimplemented_unary(path);
        };
        let _ = (&ctx, &request, &format);
        match method {
            "GetHostInfo" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        GetHostInfoRequest,
                    >(request.encoded()?, format)?;
                    let req: __buffa::view::GetHostInfoRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        GetHostInfoRequest,
                    >::from_parts(&req, &body);
                    svc.get_host_info(ctx, req)
                        .await?
                        .encode::<GetHostInfoResponse>(format)
                })
            }
            "CreateCapsule" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        CreateCapsuleRequest,
                    >(request.encoded()?, format)?;
                    let req: __buffa::view::CreateCapsuleRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        CreateCapsuleRequest,
                    >::from_parts(&req, &body);
                    svc.create_capsule(ctx, req)
                        .await?
                        .encode::<CreateCapsuleResponse>(format)
                })
            }
            "DestroyCapsule" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        DestroyCapsuleRequest,
                    >(request.encoded()?, format)?;
                    let req: __buffa::view::DestroyCapsuleRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        DestroyCapsuleRequest,
                    >::from_parts(&req, &body);
                    svc.destroy_capsule(ctx, req)
                        .await?
                        .encode::<DestroyCapsuleResponse>(format)
                })
            }
            "PauseCapsule" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        PauseCapsuleRequest,
                    >(request.encoded()?, format)?;
                    let req: __buffa::view::PauseCapsuleRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        PauseCapsuleRequest,
                    >::from_parts(&req, &body);
                    svc.pause_capsule(ctx, req)
                        .await?
                        .encode::<PauseCapsuleResponse>(format)
                })
            }
            "ResumeCapsule" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        ResumeCapsuleRequest,
                    >(request.encoded()?, format)?;
                    let req: __buffa::view::ResumeCapsuleRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        ResumeCapsuleRequest,
                    >::from_parts(&req, &body);
                    svc.resume_capsule(ctx, req)
                        .await?
                        .encode::<ResumeCapsuleResponse>(format)
                })
            }
            "HibernateCapsule" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        HibernateCapsuleRequest,
                    >(request.encoded()?, format)?;
                    let req: __buffa::view::HibernateCapsuleRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        HibernateCapsuleRequest,
                    >::from_parts(&req, &body);
                    svc.hibernate_capsule(ctx, req)
                        .await?
                        .encode::<HibernateCapsuleResponse>(format)
                })
            }
            "PingCapsule" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        PingCapsuleRequest,
                    >(request.encoded()?, format)?;
                    let req: __buffa::view::PingCapsuleRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        PingCapsuleRequest,
                    >::from_parts(&req, &body);
                    svc.ping_capsule(ctx, req)
                        .await?
                        .encode::<PingCapsuleResponse>(format)
                })
            }
            "ListCapsules" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        ListCapsulesRequest,
                    >(request.encoded()?, format)?;
                    let req: __buffa::view::ListCapsulesRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        ListCapsulesRequest,
                    >::from_parts(&req, &body);
                    svc.list_capsules(ctx, req)
                        .await?
                        .encode::<ListCapsulesResponse>(format)
                })
            }
            "SnapshotCapsule" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        SnapshotCapsuleRequest,
                    >(request.encoded()?, format)?;
                    let req: __buffa::view::SnapshotCapsuleRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        SnapshotCapsuleRequest,
                    >::from_parts(&req, &body);
                    svc.snapshot_capsule(ctx, req)
                        .await?
                        .encode::<SnapshotCapsuleResponse>(format)
                })
            }
            "ListTemplates" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        ListTemplatesRequest,
                    >(request.encoded()?, format)?;
                    let req: __buffa::view::ListTemplatesRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        ListTemplatesRequest,
                    >::from_parts(&req, &body);
                    svc.list_templates(ctx, req)
                        .await?
                        .encode::<ListTemplatesResponse>(format)
                })
            }
            "DeleteTemplate" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        DeleteTemplateRequest,
                    >(request.encoded()?, format)?;
                    let req: __buffa::view::DeleteTemplateRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        DeleteTemplateRequest,
                    >::from_parts(&req, &body);
                    svc.delete_template(ctx, req)
                        .await?
                        .encode::<DeleteTemplateResponse>(format)
                })
            }
            "Exec" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        ExecRequest,
                    >(request.encoded()?, format)?;
                    let req: __buffa::view::ExecRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        ExecRequest,
                    >::from_parts(&req, &body);
                    svc.exec(ctx, req).await?.encode::<ExecResponse>(format)
                })
            }
            "StartBackground" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        StartBackgroundRequest,
                    >(request.encoded()?, format)?;
                    let req: __buffa::view::StartBackgroundRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        StartBackgroundRequest,
                    >::from_parts(&req, &body);
                    svc.start_background(ctx, req)
                        .await?
                        .encode::<StartBackgroundResponse>(format)
                })
            }
            "ListProcesses" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        ListProcessesRequest,
                    >(request.encoded()?, format)?;
                    let req: __buffa::view::ListProcessesRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        ListProcessesRequest,
                    >::from_parts(&req, &body);
                    svc.list_processes(ctx, req)
                        .await?
                        .encode::<ListProcessesResponse>(format)
                })
            }
            "KillProcess" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        KillProcessRequest,
                    >(request.encoded()?, format)?;
                    let req: __buffa::view::KillProcessRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        KillProcessRequest,
                    >::from_parts(&req, &body);
                    svc.kill_process(ctx, req)
                        .await?
                        .encode::<KillProcessResponse>(format)
                })
            }
            "PtySendInput" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        PtySendInputRequest,
                    >(request.encoded()?, format)?;
                    let req: __buffa::view::PtySendInputRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        PtySendInputRequest,
                    >::from_parts(&req, &body);
                    svc.pty_send_input(ctx, req)
                        .await?
                        .encode::<PtySendInputResponse>(format)
                })
            }
            "PtyResize" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        PtyResizeRequest,
                    >(request.encoded()?, format)?;
                    let req: __buffa::view::PtyResizeRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        PtyResizeRequest,
                    >::from_parts(&req, &body);
                    svc.pty_resize(ctx, req).await?.encode::<PtyResizeResponse>(format)
                })
            }
            "PtyKill" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        PtyKillRequest,
                    >(request.encoded()?, format)?;
                    let req: __buffa::view::PtyKillRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        PtyKillRequest,
                    >::from_parts(&req, &body);
                    svc.pty_kill(ctx, req).await?.encode::<PtyKillResponse>(format)
                })
            }
            "ReadFile" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        ReadFileRequest,
                    >(request.encoded()?, format)?;
                    let req: __buffa::view::ReadFileRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        ReadFileRequest,
                    >::from_parts(&req, &body);
                    svc.read_file(ctx, req).await?.encode::<ReadFileResponse>(format)
                })
            }
            "WriteFile" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        WriteFileRequest,
                    >(request.encoded()?, format)?;
                    let req: __buffa::view::WriteFileRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        WriteFileRequest,
                    >::from_parts(&req, &body);
                    svc.write_file(ctx, req).await?.encode::<WriteFileResponse>(format)
                })
            }
            "ListDir" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        ListDirRequest,
                    >(request.encoded()?, format)?;
                    let req: __buffa::view::ListDirRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        ListDirRequest,
                    >::from_parts(&req, &body);
                    svc.list_dir(ctx, req).await?.encode::<ListDirResponse>(format)
                })
            }
            "MakeDir" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        MakeDirRequest,
                    >(request.encoded()?, format)?;
                    let req: __buffa::view::MakeDirRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        MakeDirRequest,
                    >::from_parts(&req, &body);
                    svc.make_dir(ctx, req).await?.encode::<MakeDirResponse>(format)
                })
            }
            "RemovePath" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        RemovePathRequest,
                    >(request.encoded()?, format)?;
                    let req: __buffa::view::RemovePathRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        RemovePathRequest,
                    >::from_parts(&req, &body);
                    svc.remove_path(ctx, req).await?.encode::<RemovePathResponse>(format)
                })
            }
            "GetCapsuleMetrics" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        GetCapsuleMetricsRequest,
                    >(request.encoded()?, format)?;
                    let req: __buffa::view::GetCapsuleMetricsRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        GetCapsuleMetricsRequest,
                    >::from_parts(&req, &body);
                    svc.get_capsule_metrics(ctx, req)
                        .await?
                        .encode::<GetCapsuleMetricsResponse>(format)
                })
            }
            _ => ::connectrpc::dispatcher::codegen::unimplemented_unary(path),
        }
    }
    fn call_server_streaming(
        &self,
        path: &str,
        ctx: ::connectrpc::RequestContext,
        request: ::buffa::bytes::Bytes,
        format: ::connectrpc::CodecFormat,
    ) -> ::connectrpc::dispatcher::codegen::StreamingResult {
        let Some(method) = path.strip_prefix("hostagent.v1.HostAgentService/") else {
            return ::connectrpc::dispatcher::codegen::unimplemented_streaming(path);
        };
        let _ = (&ctx, &request, &format);
        match method {
            "ExecStream" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        ExecRequest,
                    >(request, format)?;
                    let req: __buffa::view::ExecRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        ExecRequest,
                    >::from_parts(&req, &body);
                    let resp = svc.exec_stream(ctx, req).await?;
                    Ok(
                        resp
                            .map_body(|s| ::connectrpc::dispatcher::codegen::encode_response_stream::<
                                ExecStreamResponse,
                                _,
                                _,
                            >(s, format)),
                    )
                })
            }
            "ConnectProcess" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        ConnectProcessRequest,
                    >(request, format)?;
                    let req: __buffa::view::ConnectProcessRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        ConnectProcessRequest,
                    >::from_parts(&req, &body);
                    let resp = svc.connect_process(ctx, req).await?;
                    Ok(
                        resp
                            .map_body(|s| ::connectrpc::dispatcher::codegen::encode_response_stream::<
                                ExecStreamResponse,
                                _,
                                _,
                            >(s, format)),
                    )
                })
            }
            "PtyAttach" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        PtyAttachRequest,
                    >(request, format)?;
                    let req: __buffa::view::PtyAttachRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        PtyAttachRequest,
                    >::from_parts(&req, &body);
                    let resp = svc.pty_attach(ctx, req).await?;
                    Ok(
                        resp
                            .map_body(|s| ::connectrpc::dispatcher::codegen::encode_response_stream::<
                                PtyAttachResponse,
                                _,
                                _,
                            >(s, format)),
                    )
                })
            }
            "ReadFileStream" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let body = ::connectrpc::dispatcher::codegen::request_proto_bytes::<
                        ReadFileRequest,
                    >(request, format)?;
                    let req: __buffa::view::ReadFileRequestView<'_> = ::connectrpc::dispatcher::codegen::decode_borrowed_request_view(
                        &body,
                        ctx.decode_options(),
                    )?;
                    let req = ::connectrpc::ServiceRequest::<
                        ReadFileRequest,
                    >::from_parts(&req, &body);
                    let resp = svc.read_file_stream(ctx, req).await?;
                    Ok(
                        resp
                            .map_body(|s| ::connectrpc::dispatcher::codegen::encode_response_stream::<
                                FileChunk,
                                _,
                                _,
                            >(s, format)),
                    )
                })
            }
            _ => ::connectrpc::dispatcher::codegen::unimplemented_streaming(path),
        }
    }
    fn call_client_streaming(
        &self,
        path: &str,
        ctx: ::connectrpc::RequestContext,
        requests: ::connectrpc::dispatcher::codegen::RequestStream,
        format: ::connectrpc::CodecFormat,
    ) -> ::connectrpc::dispatcher::codegen::UnaryResult {
        let Some(method) = path.strip_prefix("hostagent.v1.HostAgentService/") else {
            return ::connectrpc::dispatcher::codegen::unimplemented_unary(path);
        };
        let _ = (&ctx, &requests, &format);
        match method {
            "WriteFileStream" => {
                let svc = ::std::sync::Arc::clone(&self.inner);
                Box::pin(async move {
                    let req_stream = ::connectrpc::dispatcher::codegen::decode_message_request_stream::<
                        WriteFileStreamRequest,
                    >(requests, format, ctx.decode_options().clone());
                    svc.write_file_stream(ctx, req_stream)
                        .await?
                        .encode::<WriteFileResponse>(format)
                })
            }
            _ => ::connectrpc::dispatcher::codegen::unimplemented_unary(path),
        }
    }
    fn call_bidi_streaming(
        &self,
        path: &str,
        ctx: ::connectrpc::RequestContext,
        requests: ::connectrpc::dispatcher::codegen::RequestStream,
        format: ::connectrpc::CodecFormat,
    ) -> ::connectrpc::dispatcher::codegen::StreamingResult {
        let Some(method) = path.strip_prefix("hostagent.v1.HostAgentService/") else {
            return ::connectrpc::dispatcher::codegen::unimplemented_streaming(path);
        };
        let _ = (&ctx, &requests, &format);
        match method {
            _ => ::connectrpc::dispatcher::codegen::unimplemented_streaming(path),
        }
    }
}
/// Client for this service.
///
/// Generic over `T: ClientTransport`. For **gRPC** (HTTP/2), use
/// `Http2Connection` — it has honest `poll_ready` and composes with
/// `tower::balance` for multi-connection load balancing. For **Connect
/// over HTTP/1.1** (or unknown protocol), use `HttpClient`.
///
/// # Example (gRPC / HTTP/2)
///
/// ```rust,ignore
/// use connectrpc::client::{Http2Connection, ClientConfig};
/// use connectrpc::Protocol;
///
/// let uri: http::Uri = "http://localhost:8080".parse()?;
/// let conn = Http2Connection::connect_plaintext(uri.clone()).await?.shared(1024);
/// let config = ClientConfig::new(uri).with_protocol(Protocol::Grpc);
///
/// let client = HostAgentServiceClient::new(conn, config);
/// let response = client.get_host_info(request).await?;
/// ```
///
/// # Example (Connect / HTTP/1.1 or ALPN)
///
/// ```rust,ignore
/// use connectrpc::client::{HttpClient, ClientConfig};
///
/// let http = HttpClient::plaintext();  // cleartext http:// only
/// let config = ClientConfig::new("http://localhost:8080".parse()?);
///
/// let client = HostAgentServiceClient::new(http, config);
/// let response = client.get_host_info(request).await?;
/// ```
///
/// # Working with the response
///
/// Unary calls return [`UnaryResponse<OwnedView<FooView>>`](::connectrpc::client::UnaryResponse).
/// [`view()`](::connectrpc::client::UnaryResponse::view) borrows the response
/// message, so field access is zero-copy:
///
/// ```rust,ignore
/// let resp = client.get_host_info(request).await?;
/// let name: &str = resp.view().name;  // borrow into the response buffer
/// ```
///
/// If you need the owned struct (e.g. to store or pass by value), use
/// [`into_owned()`](::connectrpc::client::UnaryResponse::into_owned):
///
/// ```rust,ignore
/// let owned = client.get_host_info(request).await?.into_owned();
/// ```
///
/// [`into_view()`](::connectrpc::client::UnaryResponse::into_view) keeps the
/// zero-copy decoded body (an `OwnedView`) without copying; field access on it
/// goes through `.reborrow()`. Streaming responses yield one
/// [`StreamMessage`](::connectrpc::StreamMessage) per received message from
/// `.message().await` — read fields zero-copy through the generated accessor
/// methods (`msg.name()`) or `.view()`, or convert with `.to_owned_message()`.
#[derive(Clone)]
pub struct HostAgentServiceClient<T> {
    transport: T,
    config: ::connectrpc::client::ClientConfig,
}
impl<T> HostAgentServiceClient<T>
where
    T: ::connectrpc::client::ClientTransport,
    <T::ResponseBody as ::connectrpc::http_body::Body>::Error: ::std::fmt::Display,
{
    /// Create a new client with the given transport and configuration.
    pub fn new(transport: T, config: ::connectrpc::client::ClientConfig) -> Self {
        Self { transport, config }
    }
    /// Get the client configuration.
    pub fn config(&self) -> &::connectrpc::client::ClientConfig {
        &self.config
    }
    /// Get a mutable reference to the client configuration.
    pub fn config_mut(&mut self) -> &mut ::connectrpc::client::ClientConfig {
        &mut self.config
    }
    /// Call the GetHostInfo RPC. Sends a request to /hostagent.v1.HostAgentService/GetHostInfo.
    pub async fn get_host_info(
        &self,
        request: GetHostInfoRequest,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::GetHostInfoResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.get_host_info_with_options(
                request,
                ::connectrpc::client::CallOptions::default(),
            )
            .await
    }
    /// Call the GetHostInfo RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn get_host_info_with_options(
        &self,
        request: GetHostInfoRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::GetHostInfoResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_unary(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_GET_HOST_INFO_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the CreateCapsule RPC. Sends a request to /hostagent.v1.HostAgentService/CreateCapsule.
    pub async fn create_capsule(
        &self,
        request: CreateCapsuleRequest,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::CreateCapsuleResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.create_capsule_with_options(
                request,
                ::connectrpc::client::CallOptions::default(),
            )
            .await
    }
    /// Call the CreateCapsule RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn create_capsule_with_options(
        &self,
        request: CreateCapsuleRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::CreateCapsuleResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_unary(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_CREATE_CAPSULE_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the DestroyCapsule RPC. Sends a request to /hostagent.v1.HostAgentService/DestroyCapsule.
    pub async fn destroy_capsule(
        &self,
        request: DestroyCapsuleRequest,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::DestroyCapsuleResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.destroy_capsule_with_options(
                request,
                ::connectrpc::client::CallOptions::default(),
            )
            .await
    }
    /// Call the DestroyCapsule RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn destroy_capsule_with_options(
        &self,
        request: DestroyCapsuleRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::DestroyCapsuleResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_unary(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_DESTROY_CAPSULE_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the PauseCapsule RPC. Sends a request to /hostagent.v1.HostAgentService/PauseCapsule.
    pub async fn pause_capsule(
        &self,
        request: PauseCapsuleRequest,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::PauseCapsuleResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.pause_capsule_with_options(
                request,
                ::connectrpc::client::CallOptions::default(),
            )
            .await
    }
    /// Call the PauseCapsule RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn pause_capsule_with_options(
        &self,
        request: PauseCapsuleRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::PauseCapsuleResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_unary(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_PAUSE_CAPSULE_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the ResumeCapsule RPC. Sends a request to /hostagent.v1.HostAgentService/ResumeCapsule.
    pub async fn resume_capsule(
        &self,
        request: ResumeCapsuleRequest,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::ResumeCapsuleResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.resume_capsule_with_options(
                request,
                ::connectrpc::client::CallOptions::default(),
            )
            .await
    }
    /// Call the ResumeCapsule RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn resume_capsule_with_options(
        &self,
        request: ResumeCapsuleRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::ResumeCapsuleResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_unary(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_RESUME_CAPSULE_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the HibernateCapsule RPC. Sends a request to /hostagent.v1.HostAgentService/HibernateCapsule.
    pub async fn hibernate_capsule(
        &self,
        request: HibernateCapsuleRequest,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<
                __buffa::view::HibernateCapsuleResponseView<'static>,
            >,
        >,
        ::connectrpc::ConnectError,
    > {
        self.hibernate_capsule_with_options(
                request,
                ::connectrpc::client::CallOptions::default(),
            )
            .await
    }
    /// Call the HibernateCapsule RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn hibernate_capsule_with_options(
        &self,
        request: HibernateCapsuleRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<
                __buffa::view::HibernateCapsuleResponseView<'static>,
            >,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_unary(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_HIBERNATE_CAPSULE_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the PingCapsule RPC. Sends a request to /hostagent.v1.HostAgentService/PingCapsule.
    pub async fn ping_capsule(
        &self,
        request: PingCapsuleRequest,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::PingCapsuleResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.ping_capsule_with_options(
                request,
                ::connectrpc::client::CallOptions::default(),
            )
            .await
    }
    /// Call the PingCapsule RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn ping_capsule_with_options(
        &self,
        request: PingCapsuleRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::PingCapsuleResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_unary(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_PING_CAPSULE_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the ListCapsules RPC. Sends a request to /hostagent.v1.HostAgentService/ListCapsules.
    pub async fn list_capsules(
        &self,
        request: ListCapsulesRequest,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::ListCapsulesResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.list_capsules_with_options(
                request,
                ::connectrpc::client::CallOptions::default(),
            )
            .await
    }
    /// Call the ListCapsules RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn list_capsules_with_options(
        &self,
        request: ListCapsulesRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::ListCapsulesResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_unary(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_LIST_CAPSULES_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the SnapshotCapsule RPC. Sends a request to /hostagent.v1.HostAgentService/SnapshotCapsule.
    pub async fn snapshot_capsule(
        &self,
        request: SnapshotCapsuleRequest,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::SnapshotCapsuleResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.snapshot_capsule_with_options(
                request,
                ::connectrpc::client::CallOptions::default(),
            )
            .await
    }
    /// Call the SnapshotCapsule RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn snapshot_capsule_with_options(
        &self,
        request: SnapshotCapsuleRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::SnapshotCapsuleResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_unary(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_SNAPSHOT_CAPSULE_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the ListTemplates RPC. Sends a request to /hostagent.v1.HostAgentService/ListTemplates.
    pub async fn list_templates(
        &self,
        request: ListTemplatesRequest,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::ListTemplatesResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.list_templates_with_options(
                request,
                ::connectrpc::client::CallOptions::default(),
            )
            .await
    }
    /// Call the ListTemplates RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn list_templates_with_options(
        &self,
        request: ListTemplatesRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::ListTemplatesResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_unary(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_LIST_TEMPLATES_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the DeleteTemplate RPC. Sends a request to /hostagent.v1.HostAgentService/DeleteTemplate.
    pub async fn delete_template(
        &self,
        request: DeleteTemplateRequest,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::DeleteTemplateResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.delete_template_with_options(
                request,
                ::connectrpc::client::CallOptions::default(),
            )
            .await
    }
    /// Call the DeleteTemplate RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn delete_template_with_options(
        &self,
        request: DeleteTemplateRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::DeleteTemplateResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_unary(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_DELETE_TEMPLATE_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the Exec RPC. Sends a request to /hostagent.v1.HostAgentService/Exec.
    pub async fn exec(
        &self,
        request: ExecRequest,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::ExecResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.exec_with_options(request, ::connectrpc::client::CallOptions::default())
            .await
    }
    /// Call the Exec RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn exec_with_options(
        &self,
        request: ExecRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::ExecResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_unary(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_EXEC_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the ExecStream RPC. Sends a request to /hostagent.v1.HostAgentService/ExecStream.
    pub async fn exec_stream(
        &self,
        request: ExecRequest,
    ) -> Result<
        ::connectrpc::client::ServerStream<
            T::ResponseBody,
            __buffa::view::ExecStreamResponseView<'static>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.exec_stream_with_options(
                request,
                ::connectrpc::client::CallOptions::default(),
            )
            .await
    }
    /// Call the ExecStream RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn exec_stream_with_options(
        &self,
        request: ExecRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::ServerStream<
            T::ResponseBody,
            __buffa::view::ExecStreamResponseView<'static>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_server_stream(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_EXEC_STREAM_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the StartBackground RPC. Sends a request to /hostagent.v1.HostAgentService/StartBackground.
    pub async fn start_background(
        &self,
        request: StartBackgroundRequest,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::StartBackgroundResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.start_background_with_options(
                request,
                ::connectrpc::client::CallOptions::default(),
            )
            .await
    }
    /// Call the StartBackground RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn start_background_with_options(
        &self,
        request: StartBackgroundRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::StartBackgroundResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_unary(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_START_BACKGROUND_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the ListProcesses RPC. Sends a request to /hostagent.v1.HostAgentService/ListProcesses.
    pub async fn list_processes(
        &self,
        request: ListProcessesRequest,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::ListProcessesResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.list_processes_with_options(
                request,
                ::connectrpc::client::CallOptions::default(),
            )
            .await
    }
    /// Call the ListProcesses RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn list_processes_with_options(
        &self,
        request: ListProcessesRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::ListProcessesResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_unary(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_LIST_PROCESSES_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the KillProcess RPC. Sends a request to /hostagent.v1.HostAgentService/KillProcess.
    pub async fn kill_process(
        &self,
        request: KillProcessRequest,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::KillProcessResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.kill_process_with_options(
                request,
                ::connectrpc::client::CallOptions::default(),
            )
            .await
    }
    /// Call the KillProcess RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn kill_process_with_options(
        &self,
        request: KillProcessRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::KillProcessResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_unary(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_KILL_PROCESS_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the ConnectProcess RPC. Sends a request to /hostagent.v1.HostAgentService/ConnectProcess.
    pub async fn connect_process(
        &self,
        request: ConnectProcessRequest,
    ) -> Result<
        ::connectrpc::client::ServerStream<
            T::ResponseBody,
            __buffa::view::ExecStreamResponseView<'static>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.connect_process_with_options(
                request,
                ::connectrpc::client::CallOptions::default(),
            )
            .await
    }
    /// Call the ConnectProcess RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn connect_process_with_options(
        &self,
        request: ConnectProcessRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::ServerStream<
            T::ResponseBody,
            __buffa::view::ExecStreamResponseView<'static>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_server_stream(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_CONNECT_PROCESS_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the PtyAttach RPC. Sends a request to /hostagent.v1.HostAgentService/PtyAttach.
    pub async fn pty_attach(
        &self,
        request: PtyAttachRequest,
    ) -> Result<
        ::connectrpc::client::ServerStream<
            T::ResponseBody,
            __buffa::view::PtyAttachResponseView<'static>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.pty_attach_with_options(
                request,
                ::connectrpc::client::CallOptions::default(),
            )
            .await
    }
    /// Call the PtyAttach RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn pty_attach_with_options(
        &self,
        request: PtyAttachRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::ServerStream<
            T::ResponseBody,
            __buffa::view::PtyAttachResponseView<'static>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_server_stream(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_PTY_ATTACH_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the PtySendInput RPC. Sends a request to /hostagent.v1.HostAgentService/PtySendInput.
    pub async fn pty_send_input(
        &self,
        request: PtySendInputRequest,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::PtySendInputResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.pty_send_input_with_options(
                request,
                ::connectrpc::client::CallOptions::default(),
            )
            .await
    }
    /// Call the PtySendInput RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn pty_send_input_with_options(
        &self,
        request: PtySendInputRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::PtySendInputResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_unary(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_PTY_SEND_INPUT_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the PtyResize RPC. Sends a request to /hostagent.v1.HostAgentService/PtyResize.
    pub async fn pty_resize(
        &self,
        request: PtyResizeRequest,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::PtyResizeResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.pty_resize_with_options(
                request,
                ::connectrpc::client::CallOptions::default(),
            )
            .await
    }
    /// Call the PtyResize RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn pty_resize_with_options(
        &self,
        request: PtyResizeRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::PtyResizeResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_unary(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_PTY_RESIZE_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the PtyKill RPC. Sends a request to /hostagent.v1.HostAgentService/PtyKill.
    pub async fn pty_kill(
        &self,
        request: PtyKillRequest,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::PtyKillResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.pty_kill_with_options(request, ::connectrpc::client::CallOptions::default())
            .await
    }
    /// Call the PtyKill RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn pty_kill_with_options(
        &self,
        request: PtyKillRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::PtyKillResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_unary(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_PTY_KILL_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the ReadFile RPC. Sends a request to /hostagent.v1.HostAgentService/ReadFile.
    pub async fn read_file(
        &self,
        request: ReadFileRequest,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::ReadFileResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.read_file_with_options(
                request,
                ::connectrpc::client::CallOptions::default(),
            )
            .await
    }
    /// Call the ReadFile RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn read_file_with_options(
        &self,
        request: ReadFileRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::ReadFileResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_unary(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_READ_FILE_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the WriteFile RPC. Sends a request to /hostagent.v1.HostAgentService/WriteFile.
    pub async fn write_file(
        &self,
        request: WriteFileRequest,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::WriteFileResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.write_file_with_options(
                request,
                ::connectrpc::client::CallOptions::default(),
            )
            .await
    }
    /// Call the WriteFile RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn write_file_with_options(
        &self,
        request: WriteFileRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::WriteFileResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_unary(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_WRITE_FILE_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the ReadFileStream RPC. Sends a request to /hostagent.v1.HostAgentService/ReadFileStream.
    pub async fn read_file_stream(
        &self,
        request: ReadFileRequest,
    ) -> Result<
        ::connectrpc::client::ServerStream<
            T::ResponseBody,
            __buffa::view::FileChunkView<'static>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.read_file_stream_with_options(
                request,
                ::connectrpc::client::CallOptions::default(),
            )
            .await
    }
    /// Call the ReadFileStream RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn read_file_stream_with_options(
        &self,
        request: ReadFileRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::ServerStream<
            T::ResponseBody,
            __buffa::view::FileChunkView<'static>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_server_stream(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_READ_FILE_STREAM_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the WriteFileStream RPC. Sends a request to /hostagent.v1.HostAgentService/WriteFileStream.
    ///
    /// `requests` is any `Stream<Item = ...> + Send + 'static` of
    /// request messages (the `ClientRequestStream` bound); messages
    /// are sent as the stream yields them. It backs the request
    /// body, so yield owned messages or feed the call from a
    /// channel-backed stream. For a collection that is already in
    /// hand, wrap it with `::connectrpc::stream_iter(...)`.
    ///
    /// Dropping the returned future cancels the call: the request
    /// body is dropped along with it, so messages the stream had
    /// not yet yielded are never delivered. A caller that needs the
    /// request delivered must drive the call to completion rather
    /// than, say, wrapping it in a `timeout`.
    pub async fn write_file_stream(
        &self,
        requests: impl ::connectrpc::client::ClientRequestStream<WriteFileStreamRequest>,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::WriteFileResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.write_file_stream_with_options(
                requests,
                ::connectrpc::client::CallOptions::default(),
            )
            .await
    }
    /// Call the WriteFileStream RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    ///
    /// `requests` is any `Stream<Item = ...> + Send + 'static` of
    /// request messages (the `ClientRequestStream` bound); messages
    /// are sent as the stream yields them. It backs the request
    /// body, so yield owned messages or feed the call from a
    /// channel-backed stream. For a collection that is already in
    /// hand, wrap it with `::connectrpc::stream_iter(...)`.
    ///
    /// Dropping the returned future cancels the call: the request
    /// body is dropped along with it, so messages the stream had
    /// not yet yielded are never delivered. A caller that needs the
    /// request delivered must drive the call to completion rather
    /// than, say, wrapping it in a `timeout`.
    pub async fn write_file_stream_with_options(
        &self,
        requests: impl ::connectrpc::client::ClientRequestStream<WriteFileStreamRequest>,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::WriteFileResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_client_stream(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_WRITE_FILE_STREAM_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                requests,
                options,
            )
            .await
    }
    /// Call the ListDir RPC. Sends a request to /hostagent.v1.HostAgentService/ListDir.
    pub async fn list_dir(
        &self,
        request: ListDirRequest,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::ListDirResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.list_dir_with_options(request, ::connectrpc::client::CallOptions::default())
            .await
    }
    /// Call the ListDir RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn list_dir_with_options(
        &self,
        request: ListDirRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::ListDirResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_unary(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_LIST_DIR_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the MakeDir RPC. Sends a request to /hostagent.v1.HostAgentService/MakeDir.
    pub async fn make_dir(
        &self,
        request: MakeDirRequest,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::MakeDirResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.make_dir_with_options(request, ::connectrpc::client::CallOptions::default())
            .await
    }
    /// Call the MakeDir RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn make_dir_with_options(
        &self,
        request: MakeDirRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::MakeDirResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_unary(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_MAKE_DIR_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the RemovePath RPC. Sends a request to /hostagent.v1.HostAgentService/RemovePath.
    pub async fn remove_path(
        &self,
        request: RemovePathRequest,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::RemovePathResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        self.remove_path_with_options(
                request,
                ::connectrpc::client::CallOptions::default(),
            )
            .await
    }
    /// Call the RemovePath RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn remove_path_with_options(
        &self,
        request: RemovePathRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<__buffa::view::RemovePathResponseView<'static>>,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_unary(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_REMOVE_PATH_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
    /// Call the GetCapsuleMetrics RPC. Sends a request to /hostagent.v1.HostAgentService/GetCapsuleMetrics.
    pub async fn get_capsule_metrics(
        &self,
        request: GetCapsuleMetricsRequest,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<
                __buffa::view::GetCapsuleMetricsResponseView<'static>,
            >,
        >,
        ::connectrpc::ConnectError,
    > {
        self.get_capsule_metrics_with_options(
                request,
                ::connectrpc::client::CallOptions::default(),
            )
            .await
    }
    /// Call the GetCapsuleMetrics RPC with explicit per-call options. Options override [`ClientConfig`](::connectrpc::client::ClientConfig) defaults.
    pub async fn get_capsule_metrics_with_options(
        &self,
        request: GetCapsuleMetricsRequest,
        options: ::connectrpc::client::CallOptions,
    ) -> Result<
        ::connectrpc::client::UnaryResponse<
            ::buffa::view::OwnedView<
                __buffa::view::GetCapsuleMetricsResponseView<'static>,
            >,
        >,
        ::connectrpc::ConnectError,
    > {
        ::connectrpc::client::call_unary(
                &self.transport,
                &self.config,
                HOST_AGENT_SERVICE_GET_CAPSULE_METRICS_SPEC
                    .with_origin(::connectrpc::SpecOrigin::Client),
                request,
                options,
            )
            .await
    }
}
