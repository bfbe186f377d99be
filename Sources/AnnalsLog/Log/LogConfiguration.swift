/// Settings of an LMDB log. Every limit is a named constant with its unit last.
public struct LogConfiguration: Sendable {
    /// The map size a new log starts with. The file grows as pages are written, not to this size.
    public var mapSizeInitialBytes: Int = 256 << 20
    /// The largest the map may grow to; an append that needs more fails with `.mapFull`.
    public var mapSizeMaxBytes: Int = 1 << 40
    /// Payloads of at least this many bytes are deflated with zlib when that saves an eighth or more.
    public var deflateThresholdBytes: Int = 4096
    /// The writer puts at most this many bytes into one transaction; more waits for the next commit.
    public var commitBytesMax: Int = 32 << 20
    /// How long the writer waits for another batch while it gathers a group (the appenders of its last group
    /// submitting again) before it commits, and for the first batch of a transaction it opened ahead of them;
    /// a group is gathered for at most eight windows, and no longer once its batches come too slowly to be worth
    /// waiting for (see `Writer.trickling`). Zero commits at once. A fraction of one fsync, it raises the events per
    /// commit under load.
    public var gatherWindow: Duration = .microseconds(200)
    /// The writer keeps this many bytes of zeros written ahead of the log's last page in its data file, so that
    /// commits overwrite allocated blocks and their syncs need no metadata update (see `Preallocator`); zero turns
    /// it off, which suits copy-on-write file systems, where overwriting gains nothing.
    public var preallocateAheadBytes: Int = 16 << 20
    /// One append call may carry at most this many bytes.
    public var batchBytesMax: Int = 64 << 20
    /// One append call may carry at most this many events.
    public var batchCountMax: Int = 100_000
    /// Open without writing: no writer thread, and the log must exist.
    public var readOnly: Bool = false
    /// Long scans end their read transaction after this many records and begin another, so old pages are not
    /// pinned while the writer goes on.
    public var scanRenewCount: Int = 4096

    public init() {}

    /// The settings for reading a log that another process may be writing.
    public static var readOnly: LogConfiguration {
        var configuration = LogConfiguration()
        configuration.readOnly = true
        return configuration
    }
}
