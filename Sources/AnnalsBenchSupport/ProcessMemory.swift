import Foundation

/// The memory and CPU time of the running process as the kernel counts them: memory to measure what building an
/// index costs beyond the index's own estimate (allocator slack, temporary copies, fragmentation), CPU time to
/// measure what searching costs when other work shares the machine.
///
/// A delta undercounts when the allocator reuses memory freed earlier in the process without returning it to the
/// kernel. glibc returns blocks above its largest mmap threshold (32 MiB) on free, so the deltas of large indexes are
/// close; those of small runs (a few MiB) may read low.
public enum ProcessMemory {
    /// The resident set size in bytes, from `/proc/self/statm`; nil where there is no `/proc` (macOS).
    public static func residentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        // The second field is resident pages.
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// The resident pages that are a file's (mapped snapshot files, the log, file arenas), in bytes, from the third
    /// field of `/proc/self/statm`: the kernel can drop them and read them back, unlike the rest of the resident set.
    public static func residentFileBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 2, let pages = Int(fields[2]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// The CPU time of the whole process (every thread, user and system) in seconds.
    public static func cpuSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
