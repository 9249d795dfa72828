#ifndef DECOUPLE_CFFMPEG_SHIM_H
#define DECOUPLE_CFFMPEG_SHIM_H

#include <errno.h>
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/motion_vector.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

// Macros Swift cannot import (function-like or "structure not supported").
static inline int cff_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int cff_averror_eof(void) { return AVERROR_EOF; }
static inline int cff_averror_enomem(void) { return AVERROR(ENOMEM); }
static inline int64_t cff_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline int cff_pkt_flag_key(void) { return AV_PKT_FLAG_KEY; }
static inline int cff_pkt_flag_corrupt(void) { return AV_PKT_FLAG_CORRUPT; }
static inline int cff_codec_flag2_export_mvs(void) { return AV_CODEC_FLAG2_EXPORT_MVS; }

// av_log is variadic: Swift cannot call it, so set the level through a tiny wrapper.
static inline void cff_set_log_quiet(void) { av_log_set_level(AV_LOG_QUIET); }
static inline void cff_set_log_level(int level) { av_log_set_level(level); }

#endif
