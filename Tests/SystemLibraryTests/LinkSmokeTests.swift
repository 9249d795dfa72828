import CBLAS
import CCurses
import Testing

/// The C libraries that no Swift target uses yet still build, link and answer. When a link
/// breaks, this small test says so before anything larger does.
@Suite("C libraries link")
struct LinkSmokeTests {
    @Test("OpenBLAS sgemm multiplies a 2x3 by a 3x2 matrix")
    func sgemm() {
        let a: [Float] = [1, 2, 3, 4, 5, 6]
        let b: [Float] = [7, 8, 9, 10, 11, 12]
        var c = [Float](repeating: 0, count: 4)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 2, 2, 3, 1, a, 3, b, 2, 0, &c, 2)
        #expect(c == [58, 64, 139, 154])
        #expect(openblas_get_num_threads() >= 1)
    }

    @Test("ncursesw: wide-character API present, version 6")
    func curses() {
        let version = String(cString: curses_version())
        #expect(version.hasPrefix("ncurses 6"))
        var cell = cchar_t()
        var chars: [wchar_t] = [0x2580, 0]
        var pair: Int32 = 0
        #expect(setcchar(&cell, &chars, ccu_a_bold(), 0, &pair) == OK)
    }
}
