#ifndef DECOUPLE_CCURSES_SHIM_H
#define DECOUPLE_CCURSES_SHIM_H
// SwiftPM drops pkg-config -D flags, so switch on the wide-character API here, before the
// header (without it cchar_t, setcchar, mvadd_wch and get_wch are missing).
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <locale.h>
#include <langinfo.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <wchar.h>
#include <ncursesw/curses.h>

// Attribute and line-drawing macros do not import (shift-and-cast, or acs_map lookups).
static inline attr_t ccu_a_normal(void) { return A_NORMAL; }
static inline attr_t ccu_a_bold(void) { return A_BOLD; }
static inline attr_t ccu_a_dim(void) { return A_DIM; }
static inline attr_t ccu_a_reverse(void) { return A_REVERSE; }
static inline attr_t ccu_a_underline(void) { return A_UNDERLINE; }
static inline int ccu_key_f(int n) { return KEY_F(n); }
static inline int ccu_key_resize(void) { return KEY_RESIZE; }
// Swift 6 rejects the mutable globals stdscr, COLORS, COLOR_PAIRS: read them through functions.
static inline WINDOW *ccu_stdscr(void) { return stdscr; }
static inline int ccu_colors(void) { return COLORS; }
static inline int ccu_color_pairs(void) { return COLOR_PAIRS; }

// Signals while curses owns the terminal. Ctrl-C and SIGTERM only set a flag, so the main loop
// can cancel work and restore the terminal itself; crashes restore the terminal, then die with
// the original signal (ncurses does nothing for these).
static volatile sig_atomic_t ccu_interrupt_flag = 0;
static void ccu_on_interrupt(int sig) { (void)sig; ccu_interrupt_flag = 1; }
static void ccu_on_crash(int sig) {
    if (!isendwin()) endwin();
    signal(sig, SIG_DFL);
    raise(sig);
}
static inline void ccu_install_signal_handlers(void) {
    signal(SIGINT, ccu_on_interrupt);
    signal(SIGTERM, ccu_on_interrupt);
    int crashes[] = {SIGSEGV, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE};
    for (unsigned i = 0; i < sizeof crashes / sizeof crashes[0]; i++) signal(crashes[i], ccu_on_crash);
}
static inline int ccu_take_interrupt(void) {
    int v = ccu_interrupt_flag;
    ccu_interrupt_flag = 0;
    return v;
}
static void ccu_endwin_at_exit(void) { if (!isendwin()) endwin(); }
static inline void ccu_register_atexit(void) { atexit(ccu_endwin_at_exit); }
// Mouse: clicks and the wheel only (no motion reports). The mask macros do not import. Presses
// count (mouseinterval 0) so a click is delivered at once, not after a double-click wait.
static inline void ccu_mouse_enable(void) {
    mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
    mouseinterval(0);
}
static inline int ccu_key_mouse(void) { return KEY_MOUSE; }
// 1 = left button, 4 = wheel up, 5 = wheel down, 0 = something else; the cell in *x, *y.
static inline int ccu_get_mouse(int *x, int *y) {
    MEVENT e;
    if (getmouse(&e) != OK) return 0;
    *x = e.x;
    *y = e.y;
    if (e.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)) return 1;
    if (e.bstate & BUTTON4_PRESSED) return 4;
    if (e.bstate & BUTTON5_PRESSED) return 5;
    return 0;
}
#endif
