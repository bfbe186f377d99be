/// An error turning event payloads into bytes or JSON, or back; `code` says which kind, `message` says what happened.
///
/// Modelled on NIO's `FileSystemError`: a struct with an extensible code rather than an enum, so that new codes can
/// be added without breaking the callers' `switch` statements.
public struct EventCodingError: Error, Sendable {
    /// What kind of error this is; compare it with the static members (`error.code == .unknownEventType`).
    public var code: Code
    /// A human-readable description of what failed, for logs and operators.
    public var message: String
    /// The event type code of the record concerned, as found in its header.
    public var eventType: UInt16
    /// The schema version of the record concerned, as found in its header.
    public var schemaVersion: UInt16
    /// The underlying error (from SwiftProtobuf), if there was one.
    public var cause: (any Error)?
    /// Where in Annals the error was thrown.
    public var location: SourceLocation

    /// Creates an error located at the caller's position unless `function`, `file` and `line` say otherwise.
    public init(
        code: Code,
        message: String,
        eventType: UInt16,
        schemaVersion: UInt16,
        cause: (any Error)? = nil,
        function: String = #function,
        file: String = #fileID,
        line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.eventType = eventType
        self.schemaVersion = schemaVersion
        self.cause = cause
        self.location = SourceLocation(function: function, file: file, line: line)
    }
}

extension EventCodingError {
    /// The kind of an `EventCodingError`.
    public struct Code: Hashable, Sendable {
        // Private so that adding a code is not a source-breaking change for exhaustive switches elsewhere.
        private enum Wrapped: Hashable, Sendable {
            case unknownEventType
            case unsupportedSchemaVersion
            case malformedPayload
            case encodingFailed
            case malformedAttachment
        }

        private let wrapped: Wrapped

        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// The record's type code names no type this build knows.
        ///
        /// The log was written by a newer Annals; upgrade this one, or skip the record where the reader allows it
        /// (`annals audit` shows it as raw bytes).
        public static let unknownEventType = Code(.unknownEventType)

        /// The type is known but its schema version is not: 0, or newer than this build can read.
        ///
        /// The record was written by a newer Annals (upgrade) or the header is damaged (run `annals audit verify`).
        public static let unsupportedSchemaVersion = Code(.unsupportedSchemaVersion)

        /// The payload bytes are not a valid protobuf message of the type and version named in the header.
        ///
        /// The record is damaged (the log's checksum should have caught it: run `annals audit verify`) or was written
        /// with a wrong type code, which is a bug in the writer.
        public static let malformedPayload = Code(.malformedPayload)

        /// A payload could not be encoded to protobuf binary or JSON; a bug, since v1 messages have no required
        /// fields and no `Any` fields.
        public static let encodingFailed = Code(.encodingFailed)

        /// A `chunk.embedded` attachment does not hold `dimension` finite Float32 values, or the dimension is out of
        /// range; the record is damaged or the embedder produced NaN or infinite values.
        public static let malformedAttachment = Code(.malformedAttachment)
    }

    /// A position in Annals' source code.
    public struct SourceLocation: Hashable, Sendable {
        /// The function that threw.
        public var function: String
        /// The file that threw, as `#fileID` spells it (module and file name, no machine path).
        public var file: String
        /// The line that threw.
        public var line: Int

        /// Creates a location.
        public init(function: String, file: String, line: Int) {
            self.function = function
            self.file = file
            self.line = line
        }
    }
}

extension EventCodingError.Code: CustomStringConvertible {
    /// The code's name, for example `malformedPayload`.
    public var description: String { String(describing: wrapped) }
}

extension EventCodingError: CustomStringConvertible {
    /// One line with the code, the event type and version, the message and the cause.
    public var description: String {
        var text = "\(code): type \(eventType) version \(schemaVersion): \(message)"
        if let cause { text += " (cause: \(cause))" }
        return text
    }
}
