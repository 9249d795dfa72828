#ifndef DECOUPLE_CCHAFA_SHIM_H
#define DECOUPLE_CCHAFA_SHIM_H
// chafa 1.12 (Debian's libchafa-dev): canvases that turn RGB pixels into kitty, sixel or
// iTerm2 image sequences, or into symbol mosaics read back cell by cell. Its headers need
// glib's, which pkg-config "chafa" adds to the include path.
#include <chafa.h>

// GString and GError are glib structs Swift imports, but freeing them goes through functions
// whose gboolean argument is easier to pass here.
static inline void cch_string_free(GString *s) { g_string_free(s, TRUE); }
static inline void cch_error_free(GError *e) { g_error_free(e); }
// The symbol tags are an enum of bit flags; combining them in C keeps the values exact.
static inline ChafaSymbolTags cch_mosaic_tags(void) {
    return (ChafaSymbolTags)(CHAFA_SYMBOL_TAG_SPACE | CHAFA_SYMBOL_TAG_SOLID | CHAFA_SYMBOL_TAG_HALF |
                             CHAFA_SYMBOL_TAG_QUAD | CHAFA_SYMBOL_TAG_BLOCK);
}
static inline ChafaSymbolTags cch_sextant_tags(void) { return CHAFA_SYMBOL_TAG_SEXTANT; }

#endif
