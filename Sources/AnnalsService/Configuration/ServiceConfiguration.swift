public import AnnalsExtract
import AnnalsProjections
import Foundation

/// Every setting of the service, with its default. `docs/CONFIGURATION.md` documents each one; the names of the
/// environment variables and config-file keys are derived from `settingNames`.
public struct ServiceConfiguration: Sendable, Equatable {
    /// The data directory: `log/`, `blobs/`, `snapshots/`, `admin.key`.
    public var dataDirectory: String = "./data"
    /// The address to listen on.
    public var host: String = "127.0.0.1"
    /// The port to listen on.
    public var port: Int = 8080
    /// Uploads larger than this are refused with 413 (bytes).
    public var uploadBytesMax: Int = 256 << 20
    /// Concurrent processing jobs.
    public var workers: Int = 2
    /// Attempts per job before it is dead-lettered.
    public var attemptsMax: Int = 5
    /// The first retry waits this long; each next one twice as long (with jitter), up to `retryDelayMax`.
    public var retryDelayBase: Duration = .seconds(1)
    /// The longest wait between retries.
    public var retryDelayMax: Duration = .seconds(300)
    /// How long a worker's claim on a job lasts before another process may take it over.
    public var leaseDuration: Duration = .seconds(3600)
    /// Target characters per chunk.
    public var chunkCharacters: Int = 1000
    /// Characters of overlap between consecutive chunks.
    public var chunkOverlapCharacters: Int = 150
    /// Dimension of the built-in hashing embedder.
    public var embeddingDimension: Int = 384
    /// Chunk events appended per batch.
    public var chunkBatchCountMax: Int = 64
    /// Write a checkpoint after this many events…
    public var checkpointEvents: Int = 100_000
    /// …or after this long, whichever comes first (and on a graceful stop).
    public var checkpointInterval: Duration = .seconds(300)
    /// Checkpoints kept on disk.
    public var checkpointsKept: Int = 3
    /// Zeros the log's writer keeps written past the end of its data file, so that commits overwrite allocated
    /// blocks (`LogConfiguration.preallocateAheadBytes`); 0 turns it off, for copy-on-write file systems.
    public var logPreallocateBytes: Int = 16 << 20
    /// Uploads waiting for processing beyond which new uploads are refused with 503.
    public var queueDepthMax: Int = 100_000
    /// Results a search may ask for.
    public var searchResultsMax: Int = 100
    /// Live vectors of one space (tenant, embedder, dimension) from which it is searched through an HNSW graph.
    public var vectorGraphThreshold: Int = VectorsProjection.exactThresholdDefault
    /// The embedder: `hashing` (built in, the default) or `http` (an OpenAI-compatible server).
    public var embedder: EmbedderKind = .hashing
    /// The HTTP embedder's base URL (without `/v1/embeddings`).
    public var embedderURL: String = ""
    /// The HTTP embedder's model name.
    public var embedderModel: String = ""
    /// The environment variable holding the HTTP embedder's API key (never the key itself, so that it does not
    /// land in config files or process listings).
    public var embedderAPIKeyVariable: String = "ANNALS_EMBEDDER_API_KEY"
    /// Texts per request to the HTTP embedder.
    public var embedderBatchSize: Int = 64
    /// The time limit of one request to the HTTP embedder.
    public var embedderTimeout: Duration = .seconds(30)
    /// Retries of one HTTP embedder request before the job attempt fails (the queue then retries the job).
    public var embedderRetries: Int = 2
    /// The most text one document may yield; beyond it the attempt fails with `too_large`.
    public var extractedTextBytesMax: Int = TextExtractor.Configuration.textBytesMaxDefault
    /// The most bytes decompression may yield for one document; beyond it, `decompressed_too_large`.
    public var decompressedBytesMax: Int = TextExtractor.Configuration.decompressedBytesMaxDefault
    /// The most decompressed bytes per compressed byte; beyond it, `compression_ratio`.
    public var compressionRatioMax: Int = TextExtractor.Configuration.compressionRatioMaxDefault

    /// The extraction limits these settings give.
    public var extraction: TextExtractor.Configuration {
        TextExtractor.Configuration(
            textBytesMax: extractedTextBytesMax, decompressedBytesMax: decompressedBytesMax,
            compressionRatioMax: compressionRatioMax)
    }

    /// The time limit of processing one document (one attempt); past it the attempt fails with `time_limit`.
    public var processingTimeMax: Duration = .seconds(1800)

    /// Which embedder makes the vectors.
    public enum EmbedderKind: String, Sendable, Equatable {
        /// The built-in hashing embedder.
        case hashing
        /// An OpenAI-compatible HTTP embedder.
        case http
    }

    public init() {}

    /// The settings that can be set by name, for flags, environment variables (`ANNALS_` + upper snake case) and
    /// the config file (JSON object with these keys).
    public static let settingNames: [String] = [
        "data", "host", "port", "upload-bytes-max", "workers", "attempts-max", "retry-delay-base-seconds",
        "retry-delay-max-seconds", "lease-seconds", "chunk-characters", "chunk-overlap-characters",
        "embedding-dimension", "chunk-batch-count-max", "checkpoint-events", "checkpoint-interval-seconds",
        "checkpoints-kept", "queue-depth-max", "search-results-max", "vector-graph-threshold", "embedder",
        "embedder-url", "embedder-model", "embedder-api-key-variable", "embedder-batch-size",
        "embedder-timeout-seconds", "embedder-retries",
        "processing-time-max-seconds", "extracted-text-bytes-max", "decompressed-bytes-max", "compression-ratio-max",
        "log-preallocate-bytes",
    ]

    /// Sets the setting `name` from its text form.
    ///
    /// - Throws: `ConfigurationError` naming the setting and what it expects.
    public mutating func set(_ name: String, _ text: String, source: String) throws {
        func integer(_ range: ClosedRange<Int>) throws -> Int {
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
                throw ConfigurationError(
                    "\(source): \(name) must be a whole number in \(range.lowerBound)...\(range.upperBound), "
                        + "got '\(text)'")
            }
            return value
        }
        func seconds(_ range: ClosedRange<Double>) throws -> Duration {
            guard let value = Double(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
                throw ConfigurationError(
                    "\(source): \(name) must be a number of seconds in \(range.lowerBound)...\(range.upperBound), "
                        + "got '\(text)'")
            }
            return .milliseconds(Int64(value * 1000))
        }
        switch name {
        case "data":
            guard !text.isEmpty else { throw ConfigurationError("\(source): data must not be empty") }
            dataDirectory = text
        case "host":
            guard !text.isEmpty else { throw ConfigurationError("\(source): host must not be empty") }
            host = text
        case "port": port = try integer(0...65535)
        case "upload-bytes-max": uploadBytesMax = try integer(1...(1 << 40))
        case "workers": workers = try integer(0...256)
        case "attempts-max": attemptsMax = try integer(1...100)
        case "retry-delay-base-seconds": retryDelayBase = try seconds(0...3600)
        case "retry-delay-max-seconds": retryDelayMax = try seconds(0...86400)
        case "lease-seconds": leaseDuration = try seconds(1...86400)
        case "chunk-characters": chunkCharacters = try integer(100...100_000)
        case "chunk-overlap-characters": chunkOverlapCharacters = try integer(0...50_000)
        case "embedding-dimension": embeddingDimension = try integer(8...4096)
        case "chunk-batch-count-max": chunkBatchCountMax = try integer(1...10_000)
        case "checkpoint-events": checkpointEvents = try integer(100...100_000_000)
        case "checkpoint-interval-seconds": checkpointInterval = try seconds(1...86400)
        case "checkpoints-kept": checkpointsKept = try integer(1...100)
        case "queue-depth-max": queueDepthMax = try integer(1...100_000_000)
        case "search-results-max": searchResultsMax = try integer(1...10_000)
        case "vector-graph-threshold": vectorGraphThreshold = try integer(1...Int(Int32.max))
        case "embedder":
            guard let kind = EmbedderKind(rawValue: text) else {
                throw ConfigurationError("\(source): embedder must be 'hashing' or 'http', got '\(text)'")
            }
            embedder = kind
        case "embedder-url": embedderURL = text
        case "embedder-model": embedderModel = text
        case "embedder-api-key-variable": embedderAPIKeyVariable = text
        case "embedder-batch-size": embedderBatchSize = try integer(1...HTTPEmbedder.batchSizeMax)
        case "embedder-timeout-seconds": embedderTimeout = try seconds(0.001...3600)
        case "embedder-retries": embedderRetries = try integer(0...10)
        case "processing-time-max-seconds": processingTimeMax = try seconds(1...86400)
        case "extracted-text-bytes-max": extractedTextBytesMax = try integer(1...(1 << 40))
        case "decompressed-bytes-max": decompressedBytesMax = try integer(1...(1 << 40))
        case "compression-ratio-max": compressionRatioMax = try integer(2...1_000_000)
        case "log-preallocate-bytes": logPreallocateBytes = try integer(0...(1 << 30))
        default:
            throw ConfigurationError(
                "\(source): unknown setting '\(name)'; known settings: \(Self.settingNames.joined(separator: ", "))")
        }
    }

    /// Checks the settings against each other.
    ///
    /// - Throws: `ConfigurationError` with one line saying what to change.
    public func validate() throws {
        if chunkOverlapCharacters >= chunkCharacters {
            throw ConfigurationError(
                "chunk-overlap-characters (\(chunkOverlapCharacters)) must be smaller than chunk-characters "
                    + "(\(chunkCharacters))")
        }
        if retryDelayBase > retryDelayMax {
            throw ConfigurationError("retry-delay-base-seconds must not exceed retry-delay-max-seconds")
        }
        // An attempt must hit its own time limit before its lease runs out; otherwise a long document's every
        // attempt would be taken over by the lease janitor while it still runs, and never finish.
        if processingTimeMax >= leaseDuration {
            throw ConfigurationError(
                "processing-time-max-seconds (\(processingTimeMax)) must be shorter than lease-seconds "
                    + "(\(leaseDuration))")
        }
        if embedder == .http {
            guard let url = URL(string: embedderURL), let scheme = url.scheme, ["http", "https"].contains(scheme),
                url.host != nil
            else {
                throw ConfigurationError(
                    "embedder-url must be an http(s) URL when embedder is http, got '\(embedderURL)'")
            }
            if embedderModel.isEmpty {
                throw ConfigurationError("embedder-model must be set when embedder is http")
            }
        }
    }

    /// The environment variable for a setting: `ANNALS_` and the name in upper snake case.
    public static func environmentName(_ name: String) -> String {
        "ANNALS_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    /// Builds the configuration from, in rising precedence: defaults, a JSON config file, `ANNALS_*` environment
    /// variables, and flags (name → text as given on the command line).
    ///
    /// - Throws: `ConfigurationError` with one line naming the source and the setting.
    public static func load(
        file: String?, environment: [String: String], flags: [String: String]
    ) throws -> ServiceConfiguration {
        var configuration = ServiceConfiguration()
        let filePath = file ?? environment["ANNALS_CONFIG"]
        if let filePath {
            guard let data = FileManager.default.contents(atPath: filePath) else {
                throw ConfigurationError("cannot read config file \(filePath)")
            }
            guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw ConfigurationError("config file \(filePath) is not a JSON object")
            }
            for (key, value) in object.sorted(by: { $0.key < $1.key }) {
                let text: String
                switch value {
                case let string as String: text = string
                case let number as NSNumber: text = number.stringValue
                default: throw ConfigurationError("config file \(filePath): \(key) must be a string or a number")
                }
                try configuration.set(key, text, source: "config file \(filePath)")
            }
        }
        for name in settingNames {
            if let value = environment[environmentName(name)] {
                try configuration.set(name, value, source: "environment \(environmentName(name))")
            }
        }
        for (name, value) in flags.sorted(by: { $0.key < $1.key }) {
            try configuration.set(name, value, source: "--\(name)")
        }
        try configuration.validate()
        return configuration
    }
}

/// A setting that cannot be used; the message is one line naming it.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// One line: the source, the setting, what it expects.
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
