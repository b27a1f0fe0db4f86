import Foundation
import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTPTypes

/// How long `serve` waits for a client: a new connection that has not sent its whole request head within `header`
/// is closed (a client that sends nothing, or a header byte now and then, holds a connection for no longer than
/// that); an open connection with no traffic for `idle` — between two requests, or mid-body — is closed too.
public struct HTTPTimeouts: Sendable, Equatable {
    public var header: Duration
    public var idle: Duration

    public static let `default` = HTTPTimeouts(header: .seconds(10), idle: .seconds(60))

    public init(header: Duration, idle: Duration) {
        self.header = header
        self.idle = idle
    }

    var server: HTTPServerBuilder {
        let header = TimeAmount(header)
        return .http1(configuration: .init(additionalChannelHandlers: [RequestHeadDeadline(timeout: header)], idleTimeout: TimeAmount(idle)))
    }
}

/// Closes a new connection whose first request head has not arrived in time, then leaves the pipeline: from there on
/// Hummingbird's idle timeout watches the connection. It sits after the HTTP decoder, which passes a head on only once
/// it is complete, so a head sent a byte at a time does not count as progress.
final class RequestHeadDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func arm(_ context: ChannelHandlerContext) {
        guard deadline == nil else { return }
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { context.close(promise: nil) }
    }
}
