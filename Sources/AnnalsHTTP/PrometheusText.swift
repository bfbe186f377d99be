import AnnalsEvents
import AnnalsProjections
import AnnalsService
import Foundation

/// Renders the metrics in Prometheus' text exposition format (0.0.4).
///
/// Counters come from the metrics projection, so they survive restarts and equal what a replay of the log gives;
/// gauges are read from the live projections. Names follow `annals_<subsystem>_<name>_<unit>`; no label carries an
/// id or a file name; every known label value is exported, with 0 when nothing happened.
enum PrometheusText {
    static func render(core: AnnalsCore, now: Int64) -> String {
        let (metrics, queue, applied, searchable, stored, fallbacks, graphs) = core.engine.read {
            (
                $0.metrics, $0.queue.stats(now: now), $0.appliedPosition, $0.vectors.chunkCount,
                $0.vectors.storedVectors, $0.vectors.storageFallbacks, $0.vectors.graphStatus
            )
        }
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for sample in samples { out += "\(name)\(sample.labels) \(sample.value)\n" }
        }
        func counter(_ name: String, _ help: String, _ value: UInt64) {
            family(name, "counter", help, [("", String(value))])
        }
        counter("annals_uploads_received_total", "Uploads accepted (upload.received events).", metrics.uploadsTotal)
        counter("annals_uploads_received_bytes_total", "Bytes of accepted uploads.", metrics.uploadBytesTotal)
        let reasons = Set(MetricsProjection.uploadRejectReasons).union(metrics.uploadsRejectedTotal.keys).sorted()
        family(
            "annals_uploads_rejected_total", "counter", "Uploads refused (upload.rejected events), by reason.",
            reasons.map { ("{reason=\"\(escape($0))\"}", String(metrics.uploadsRejectedTotal[$0] ?? 0)) })
        counter("annals_jobs_started_total", "Processing attempts started.", metrics.jobsStartedTotal)
        counter("annals_chunks_embedded_total", "Chunks embedded and logged.", metrics.chunksEmbeddedTotal)
        counter(
            "annals_documents_completed_total", "Documents whose processing completed.",
            metrics.documentsCompletedTotal)
        family(
            "annals_jobs_failed_total", "counter", "Failed processing attempts, by stage and code.",
            metrics.jobFailuresTotal.sorted { $0.key < $1.key }.map {
                ("{stage=\"\(escape($0.key.stage))\",code=\"\(escape($0.key.code))\"}", String($0.value))
            })
        counter(
            "annals_jobs_dead_lettered_total", "Jobs that gave up after their last attempt.", metrics.deadLetteredTotal)
        counter(
            "annals_jobs_abandoned_total", "Attempts requeued because their process or lease was gone.",
            metrics.abandonedTotal)
        counter("annals_jobs_requeued_total", "Jobs put back in the queue by request.", metrics.requeuedTotal)
        counter("annals_documents_deleted_total", "Documents deleted.", metrics.deletedTotal)
        counter("annals_checkpoints_written_total", "Checkpoints written.", metrics.checkpointsTotal)
        counter("annals_service_starts_total", "Service starts (recoveries).", metrics.serviceStartsTotal)
        family(
            "annals_log_events_total", "counter", "Events in the log, by type.",
            EventType.allCases.map { ("{type=\"\($0.name)\"}", String(metrics.eventsTotal($0))) })
        let histogram = metrics.processingDuration
        var buckets: [(labels: String, value: String)] = zip(histogram.upperBoundsSeconds, histogram.cumulativeCounts)
            .map { ("_bucket{le=\"\(number($0.0))\"}", String($0.1)) }
        buckets.append(("_bucket{le=\"+Inf\"}", String(histogram.count)))
        buckets.append(("_sum", number(histogram.sumSeconds)))
        buckets.append(("_count", String(histogram.count)))
        out += "# HELP annals_processing_duration_seconds Time from job start to completion of completed attempts.\n"
        out += "# TYPE annals_processing_duration_seconds histogram\n"
        for sample in buckets { out += "annals_processing_duration_seconds\(sample.labels) \(sample.value)\n" }
        family("annals_queue_depth", "gauge", "Documents waiting for processing.", [("", String(queue.depth))])
        family("annals_queue_in_flight", "gauge", "Processing attempts running.", [("", String(queue.inFlight))])
        family("annals_queue_retrying", "gauge", "Documents waiting for a retry.", [("", String(queue.retrying))])
        family("annals_queue_dead_lettered", "gauge", "Documents dead-lettered.", [("", String(queue.dead))])
        family(
            "annals_queue_oldest_age_seconds", "gauge", "Age of the oldest waiting document.",
            [("", number(Double(queue.oldestAgeMicros) / 1_000_000))])
        family(
            "annals_projections_applied_position", "gauge", "Log position the projections have applied.",
            [("", String(applied))])
        family("annals_vectors_searchable", "gauge", "Chunks that searches can return.", [("", String(searchable))])
        family(
            "annals_vectors_stored", "gauge", "Vectors held in the arenas, pending and dead ones included.",
            [("", String(stored.count))])
        family(
            "annals_vectors_stored_bytes", "gauge", "Bytes of vectors in the arenas (file-backed in the service).",
            [("", String(stored.bytes))])
        family(
            "annals_vectors_storage_fallbacks", "gauge",
            "Arenas moved to anonymous memory because their file could not grow (disk full): alert on it.",
            [("", String(fallbacks))])
        family(
            "annals_vectors_graphs", "gauge", "Vector spaces large enough to be searched through an HNSW graph.",
            [("", String(graphs.graphs))])
        family(
            "annals_vectors_graph_unindexed_slots", "gauge",
            "Slots of those spaces their graphs have not reached yet: searches scan them exactly. Grows during an "
                + "ingest or after a restart, falls as the graph builder catches up.",
            [("", String(graphs.slots - graphs.indexedSlots))])
        family(
            "annals_vectors_graph_bytes", "gauge", "Memory held by the graphs (links and levels; vectors excluded).",
            [("", String(graphs.bytes))])
        counter(
            "annals_vectors_graph_inserted_total", "Slots the graph builder inserted since this process started.",
            UInt64(core.engine.graphSlotsInserted))
        return out
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
