import AnnalsEvents
import AnnalsExtract
import AnnalsLog
import AnnalsProjections
import Foundation

/// What an accepted upload answers.
public struct UploadOutcome: Sendable, Equatable {
    /// The document's id.
    public var documentId: String
    /// Its status now (`queued`, or the status of the document it duplicates).
    public var status: String
    /// SHA-256 of the bytes, hex.
    public var sha256: String
    /// Size in bytes.
    public var size: Int
    /// Log position of its `upload.received` event.
    public var position: UInt64
    /// True when an earlier upload (same idempotency key, or same content for the same tenant) was returned.
    public var existing: Bool
}

/// The request an upload arrives with, apart from its body.
public struct UploadRequest: Sendable {
    /// The tenant of the key that sent it.
    public var tenant: String
    /// The key that sent it.
    public var keyId: String
    /// The client's file name, kept only as sanitised metadata.
    public var filename: String?
    /// The client's `Content-Type`.
    public var declaredContentType: String?
    /// The client's `Idempotency-Key`.
    public var idempotencyKey: String?

    public init(
        tenant: String, keyId: String, filename: String?, declaredContentType: String?, idempotencyKey: String?
    ) {
        self.tenant = tenant
        self.keyId = keyId
        self.filename = filename
        self.declaredContentType = declaredContentType
        self.idempotencyKey = idempotencyKey
    }
}

/// Accepts uploads: streams the body to the blob store while validating it, then appends `upload.received`.
///
/// The answer is sent only after the blob and the event are both durable and the projections have applied the
/// event (contracts 1 and 8).
public struct UploadService: Sendable {
    let core: AnnalsCore

    public init(core: AnnalsCore) { self.core = core }

    /// Bytes of the start of a body used to decide its type.
    static let sniffBytes = 4096
    /// Characters kept of a client's file name.
    static let filenameCharactersMax = 255
    /// Characters of an idempotency key.
    static let idempotencyKeyCharactersMax = 128

    /// Accepts one upload whose body arrives as `body`, a sequence of byte chunks.
    ///
    /// - Throws: `ServiceError`: `.badRequest` (empty body, bad idempotency key), `.tooLarge`, `.unsupportedType`,
    ///   `.unavailable` (queue full or not ready), `.storageFull`.
    public func accept<Body: AsyncSequence>(_ request: UploadRequest, body: Body) async throws -> UploadOutcome
    where Body.Element: Collection<UInt8> {
        guard core.currentPhase == .ready else { throw ServiceError(.unavailable, "the service is not ready") }
        if let key = request.idempotencyKey {
            guard !key.isEmpty, key.count <= Self.idempotencyKeyCharactersMax,
                key.unicodeScalars.allSatisfy({ $0.value >= 0x21 && $0.value < 0x7F })
            else {
                throw ServiceError(
                    .badRequest,
                    "Idempotency-Key must be 1 to \(Self.idempotencyKeyCharactersMax) visible ASCII characters")
            }
            if let existing = try existingUpload(tenant: request.tenant, key: key) { return existing }
        }
        let depth = core.engine.read { $0.queue.stats(now: AnnalsCore.nowMicros()).depth }
        guard depth < core.configuration.queueDepthMax else {
            throw ServiceError(
                .unavailable,
                "the processing queue is full (\(depth) documents waiting); retry later")
        }

        let documentId = Self.newDocumentId()
        let filename = Self.sanitise(filename: request.filename)
        let limit = core.configuration.uploadBytesMax
        let writer = try core.blobs.writer()
        var prefix: [UInt8] = []
        var detection: FormatDetection?
        for try await chunk in body {
            if writer.size + chunk.count > limit {
                try await reject(
                    request, documentId: documentId, reason: .tooLarge, size: writer.size + chunk.count,
                    filename: filename, detected: detection?.contentType ?? "",
                    detail: "the upload exceeds the limit of \(limit) bytes")
                throw ServiceError(.tooLarge, "the upload exceeds the limit of \(limit) bytes")
            }
            try Array(chunk).withUnsafeBytes { try writer.write($0) }
            if detection == nil {
                prefix.append(contentsOf: chunk.prefix(Self.sniffBytes - prefix.count))
                if prefix.count >= Self.sniffBytes {
                    detection = try await check(request, prefix, documentId: documentId, filename: filename)
                }
            }
        }
        guard writer.size > 0 else { throw ServiceError(.badRequest, "the upload is empty") }
        if detection == nil {
            detection = try await check(request, prefix, documentId: documentId, filename: filename, complete: true)
        }
        if detection?.content == .pdf, Self.endsWithZIPDirectory(try writer.tail(Self.zipTailBytes)) {
            let detail =
                "the PDF has a ZIP archive appended (a PDF/ZIP polyglot, readable as either); Annals refuses such files"
            try await reject(
                request, documentId: documentId, reason: .typeNotAllowed, size: writer.size, filename: filename,
                detected: "application/pdf", detail: detail)
            throw ServiceError(.unsupportedType, detail)
        }
        let (sha256, size) = try writer.finish()

        // The same content for the same tenant is the same document, unless that one was deleted.
        let duplicate = core.engine.read { set -> (String, String, UInt64)? in
            guard let id = set.documents.documentId(tenant: request.tenant, sha256: sha256),
                let document = set.documents.document(id: id), document.status != .deleted
            else { return nil }
            return (id, document.status.rawValue, document.position)
        }
        if let duplicate {
            return UploadOutcome(
                documentId: duplicate.0, status: duplicate.1, sha256: sha256, size: size, position: duplicate.2,
                existing: true)
        }

        var event = Annals_Events_V1_UploadReceived()
        event.documentID = documentId
        event.tenantID = request.tenant
        event.filename = filename
        event.declaredContentType = request.declaredContentType ?? ""
        event.detectedContentType = detection?.contentType ?? "text/plain"
        if let encoding = detection?.encoding, encoding != .identity { event.contentEncoding = encoding.rawValue }
        event.sizeBytes = UInt64(size)
        event.sha256 = sha256
        event.blobKey = sha256
        event.idempotencyKey = request.idempotencyKey ?? ""
        event.apiKeyID = request.keyId
        let result = try await appendMappingErrors {
            try await core.append(
                [(.uploadReceived(event), [])], expected: [EventStreamID.document(documentId): .noStream],
                idempotencyKey: request.idempotencyKey.map { Self.logKey(tenant: request.tenant, key: $0) })
        }
        if result.deduplicated, let existing = try existingUpload(tenant: request.tenant, key: request.idempotencyKey!)
        {
            return existing
        }
        return UploadOutcome(
            documentId: documentId, status: "queued", sha256: sha256, size: size, position: result.firstPosition,
            existing: false)
    }

    /// The idempotency key as stored in the log: scoped to the tenant, so tenants cannot collide.
    /// The bytes at the end of a file that can hold a ZIP's end-of-central-directory record: the record's 22 bytes
    /// and a comment of up to 65,535.
    static let zipTailBytes = 22 + 65_535

    /// Whether `tail` (the end of a file) holds a ZIP end-of-central-directory record whose comment runs to the end
    /// of the file: then ZIP readers open the file as an archive, whatever its first bytes say.
    static func endsWithZIPDirectory(_ tail: [UInt8]) -> Bool {
        guard tail.count >= 22 else { return false }
        var index = tail.count - 22
        while index >= 0 {
            if tail[index] == 0x50, tail[index + 1] == 0x4B, tail[index + 2] == 0x05, tail[index + 3] == 0x06 {
                let commentLength = Int(tail[index + 20]) | Int(tail[index + 21]) << 8
                if index + 22 + commentLength == tail.count { return true }
            }
            index -= 1
        }
        return false
    }

    static func logKey(tenant: String, key: String) -> String { "upload:\(tenant):\(key)" }

    /// The earlier upload made with this key, if any.
    private func existingUpload(tenant: String, key: String) throws -> UploadOutcome? {
        guard
            let position = try core.log.earlierAppend(idempotencyKey: Self.logKey(tenant: tenant, key: key))?
                .firstPosition,
            let record = try core.log.record(at: position),
            case .uploadReceived(let upload) = try record.event()
        else { return nil }
        let status = core.engine.read { $0.documents.document(id: upload.documentID)?.status.rawValue } ?? "queued"
        return UploadOutcome(
            documentId: upload.documentID, status: status, sha256: upload.sha256, size: Int(upload.sizeBytes),
            position: position, existing: true)
    }

    /// Decides the type from the first bytes; refuses (with an `upload.rejected` event) what is not allowed.
    private func check(
        _ request: UploadRequest, _ prefix: [UInt8], documentId: String, filename: String, complete: Bool = false
    ) async throws -> FormatDetection {
        let detection = FormatDetector.detect(
            prefix: prefix, declaredContentType: request.declaredContentType, filename: request.filename,
            isComplete: complete)
        if let problem = detection.refusal {
            try await reject(
                request, documentId: documentId,
                reason: detection.isMismatch ? .typeMismatch : .typeNotAllowed, size: prefix.count,
                filename: filename, detected: detection.contentType, detail: problem.message)
            throw ServiceError(.unsupportedType, problem.message)
        }
        return detection
    }

    /// Records a refused upload, so abuse can be audited.
    private func reject(
        _ request: UploadRequest, documentId: String, reason: Annals_Events_V1_UploadRejectReason, size: Int,
        filename: String, detected: String, detail: String
    ) async throws {
        var event = Annals_Events_V1_UploadRejected()
        event.documentID = documentId
        event.tenantID = request.tenant
        event.reason = reason
        event.detail = detail
        event.declaredContentType = request.declaredContentType ?? ""
        event.detectedContentType = detected
        event.sizeBytes = UInt64(size)
        event.filename = filename
        event.apiKeyID = request.keyId
        event.idempotencyKey = request.idempotencyKey ?? ""
        _ = try await appendMappingErrors { try await core.append(.uploadRejected(event)) }
    }

    /// A new document id: 26 characters, time-ordered prefix so ids sort roughly by upload time.
    static func newDocumentId() -> String {
        let micros = UInt64(AnnalsCore.nowMicros())
        var generator = SystemRandomNumberGenerator()
        let random = UInt64.random(in: 0...UInt64.max, using: &generator)
        return String(micros, radix: 36).leftPadded(to: 11) + String(random, radix: 36).leftPadded(to: 13)
    }

    /// Keeps the last path component, drops control characters, caps the length.
    public static func sanitise(filename: String?) -> String {
        guard let filename else { return "" }
        let last = filename.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        let cleaned = String(
            String.UnicodeScalarView(last.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }))
        let trimmed = cleaned.trimmingCharacters(in: .whitespaces)
        if trimmed == "." || trimmed == ".." { return "" }
        return String(trimmed.prefix(filenameCharactersMax))
    }

    private func appendMappingErrors<R>(_ body: () async throws -> R) async throws -> R {
        do {
            return try await body()
        } catch let error as LogError where error.code == .diskFull || error.code == .mapFull {
            throw ServiceError(.storageFull, "the log has no space left: \(error.message)")
        }
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}
