import CFFmpeg
import Foundation

/// Owns one `AVFormatContext` opened on a file, with its best video stream chosen.
final class Demuxer {
    let path: String
    private(set) var context: UnsafeMutablePointer<AVFormatContext>
    let streamIndex: Int32
    private let packet: UnsafeMutablePointer<AVPacket>

    var stream: UnsafeMutablePointer<AVStream> { context.pointee.streams[Int(streamIndex)]! }
    var parameters: UnsafeMutablePointer<AVCodecParameters> { stream.pointee.codecpar }

    /// Opens `path` and picks its best video stream. With `knownStream` (the index another
    /// demuxer of the same file chose) it skips `avformat_find_stream_info`, which decodes a
    /// few frames: a packet-only pass does not need it.
    init(path: String, knownStream: Int32? = nil) throws(MediaError) {
        self.path = path
        _ = Self.quietLogs
        try Self.checkFile(path)
        var opening: UnsafeMutablePointer<AVFormatContext>? = nil
        let opened = avformat_open_input(&opening, path, nil, nil)
        guard opened >= 0, let ctx = opening else {
            throw MediaError(path: path, problem: Self.openProblem(path: path, code: opened))
        }
        context = ctx
        guard let packet = av_packet_alloc() else {
            avformat_close_input(&opening)
            throw MediaError(path: path, problem: "could not be read: out of memory")
        }
        self.packet = packet
        do {
            if let knownStream {
                streamIndex = knownStream
            } else {
                try check(avformat_find_stream_info(ctx, nil), path: path, "has no readable stream information")
                streamIndex = try Self.bestVideoStream(ctx, path: path)
            }
        } catch {
            var c: UnsafeMutablePointer<AVFormatContext>? = ctx
            avformat_close_input(&c)
            var p: UnsafeMutablePointer<AVPacket>? = packet
            av_packet_free(&p)
            throw error
        }
    }

    deinit {
        var p: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&p)
        var c: UnsafeMutablePointer<AVFormatContext>? = context
        avformat_close_input(&c)
    }

    /// Reads the next packet of the video stream into `packet` (owned by the demuxer; valid until
    /// the next call). Returns nil at the end of the file, or at the first read error: a file
    /// cut short ends there, and the frames before the cut stay usable. `readError` says why.
    func nextPacket() -> UnsafeMutablePointer<AVPacket>? {
        while true {
            av_packet_unref(packet)
            let r = av_read_frame(context, packet)
            if r < 0 {
                if r != AVCode.eof { readError = ffmpegMessage(r) }
                return nil
            }
            if packet.pointee.stream_index == streamIndex { return packet }
        }
    }

    /// Set when reading stopped on an error rather than at the end of the file.
    private(set) var readError: String?

    /// Seeks so the next packet is the key packet at or before `timestamp` (stream time base;
    /// `av_seek_frame` with `AVSEEK_FLAG_BACKWARD`). Returns false when the container cannot seek.
    func seek(to timestamp: Int64) -> Bool {
        readError = nil
        return av_seek_frame(context, streamIndex, timestamp, AVSEEK_FLAG_BACKWARD) >= 0
    }

    // MARK: - Opening

    /// FFmpeg logs to stderr by default; our errors are sentences of our own, so it stays quiet
    /// unless DECOUPLE_FFMPEG_LOG names a level (quiet, error, warning, info, verbose, debug).
    static let quietLogs: Void = {
        let levels: [String: Int32] = ["quiet": -8, "error": 16, "warning": 24, "info": 32, "verbose": 40, "debug": 48]
        let wanted = ProcessInfo.processInfo.environment["DECOUPLE_FFMPEG_LOG"].flatMap { levels[$0] } ?? -8
        cff_set_log_level(wanted)
    }()

    /// Checks the path before FFmpeg sees it, so the common mistakes get a plain sentence.
    static func checkFile(_ path: String) throws(MediaError) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw MediaError(path: path, problem: "does not exist")
        }
        if isDir.boolValue { throw MediaError(path: path, problem: "is a directory, not a video file") }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw MediaError(path: path, problem: "is not readable (permission denied)")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        if size == 0 { throw MediaError(path: path, problem: "is empty (0 bytes)") }
    }

    static func openProblem(path: String, code: Int32) -> String {
        // An ISO-BMFF file ('ftyp' box first) that FFmpeg cannot open has lost its index:
        // typically a recording or download cut short before the 'moov' box was written.
        if let handle = FileHandle(forReadingAtPath: path) {
            let head = handle.readData(ofLength: 12)
            try? handle.close()
            if head.count >= 8, head[4..<8].elementsEqual("ftyp".utf8) {
                return
                    "looks like an MP4/MOV file but is truncated or damaged: its index ('moov' box) is missing or unreadable (\(ffmpegMessage(code)))"
            }
        }
        return "is not a video file FFmpeg can read (\(ffmpegMessage(code)))"
    }

    static func bestVideoStream(_ ctx: UnsafeMutablePointer<AVFormatContext>, path: String) throws(MediaError) -> Int32
    {
        let best = av_find_best_stream(ctx, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        if best >= 0 {
            let st = ctx.pointee.streams[Int(best)]!
            // Cover art in audio files is a one-picture "video" stream; it is not a video.
            if st.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC == 0 { return best }
        }
        var kinds: [String] = []
        for i in 0..<Int(ctx.pointee.nb_streams) {
            let par = ctx.pointee.streams[i]!.pointee.codecpar!
            let kind = av_get_media_type_string(par.pointee.codec_type).map { String(cString: $0) } ?? "unknown"
            let disposition = ctx.pointee.streams[i]!.pointee.disposition
            kinds.append(disposition & AV_DISPOSITION_ATTACHED_PIC != 0 ? "cover art" : kind)
        }
        let holds = kinds.isEmpty ? "no streams at all" : "only " + Array(Set(kinds)).sorted().joined(separator: ", ")
        throw MediaError(path: path, problem: "has no video stream (it holds \(holds))")
    }
}
