/*
 * Reference for the MediaIO tests: decodes a video with libavcodec's defaults (one thread),
 * flags2=+export_mvs, and prints every exported motion vector in the CSV format of FFmpeg's
 * doc/examples/extract_mvs.c (frame number 1-based in output order). Written for Decouple;
 * it shares no code with Decouple's Swift reader, so the two can be compared.
 *
 * Build: cc mvs_reference.c $(pkg-config --cflags --libs libavformat libavcodec libavutil)
 */
#include <inttypes.h>
#include <stdio.h>
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/motion_vector.h>

static int print_frames(AVCodecContext *dec, AVFrame *frame, int *count) {
    for (;;) {
        int r = avcodec_receive_frame(dec, frame);
        if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return 0;
        if (r < 0) return r;
        (*count)++;
        AVFrameSideData *sd = av_frame_get_side_data(frame, AV_FRAME_DATA_MOTION_VECTORS);
        if (sd) {
            const AVMotionVector *mvs = (const AVMotionVector *)sd->data;
            size_t n = sd->size / sizeof(*mvs);
            for (size_t i = 0; i < n; i++) {
                const AVMotionVector *m = &mvs[i];
                printf("%d,%2d,%2d,%2d,%4d,%4d,%4d,%4d,0x%" PRIx64 ",%4d,%4d,%4d\n", *count, m->source,
                       m->w, m->h, m->src_x, m->src_y, m->dst_x, m->dst_y, m->flags, m->motion_x,
                       m->motion_y, m->motion_scale);
            }
        }
        av_frame_unref(frame);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s VIDEO\n", argv[0]); return 2; }
    AVFormatContext *fmt = NULL;
    if (avformat_open_input(&fmt, argv[1], NULL, NULL) < 0) return 1;
    if (avformat_find_stream_info(fmt, NULL) < 0) return 1;
    int stream = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (stream < 0) return 1;
    const AVCodec *codec = avcodec_find_decoder(fmt->streams[stream]->codecpar->codec_id);
    AVCodecContext *dec = avcodec_alloc_context3(codec);
    avcodec_parameters_to_context(dec, fmt->streams[stream]->codecpar);
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "flags2", "+export_mvs", 0);
    if (avcodec_open2(dec, codec, &opts) < 0) return 1;
    av_dict_free(&opts);
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    int count = 0;
    printf("framenum,source,blockw,blockh,srcx,srcy,dstx,dsty,flags,motion_x,motion_y,motion_scale\n");
    while (av_read_frame(fmt, pkt) >= 0) {
        if (pkt->stream_index == stream) {
            avcodec_send_packet(dec, pkt);
            if (print_frames(dec, frame, &count) < 0) return 1;
        }
        av_packet_unref(pkt);
    }
    avcodec_send_packet(dec, NULL);
    print_frames(dec, frame, &count);
    av_packet_free(&pkt);
    av_frame_free(&frame);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    return 0;
}
