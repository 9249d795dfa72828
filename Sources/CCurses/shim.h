#ifndef DECOUPLE_CCURSES_SHIM_H
#define DECOUPLE_CCURSES_SHIM_H
// SwiftPM drops pkg-config -D flags, so switch on the wide-character API here, before the
// header (without it cchar_t, setcchar, mvadd_wch and get_wch are missing).
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <locale.h>
#include <langinfo.h>
#include <wchar.h>
#include <ncursesw/curses.h>

// Attribute and line-drawing macros do not import (shift-and-cast, or acs_map lookups).
static inline attr_t ccu_a_normal(void) { return A_NORMAL; }
static inline attr_t ccu_a_bold(void) { return A_BOLD; }
static inline attr_t ccu_a_dim(void) { return A_DIM; }
static inline attr_t ccu_a_reverse(void) { return A_REVERSE; }
static inline attr_t ccu_a_underline(void) { return A_UNDERLINE; }
static inline int ccu_key_f(int n) { return KEY_F(n); }
// Swift 6 rejects the mutable globals stdscr, COLORS, COLOR_PAIRS: read them through functions.
static inline WINDOW *ccu_stdscr(void) { return stdscr; }
static inline int ccu_colors(void) { return COLORS; }
static inline int ccu_color_pairs(void) { return COLOR_PAIRS; }
#endif
