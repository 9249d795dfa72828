import Foundation

/// The NumPy `.npy` format, version 1.0: a magic string, a Python-dict header padded so the
/// data starts on a 64-byte boundary, then raw little-endian C-order data.
public enum NPY {
    public enum DType: String, Sendable {
        case float32 = "<f4"
        case int16 = "<i2"
        case uint8 = "|u1"

        public var size: Int {
            switch self {
            case .float32: return 4
            case .int16: return 2
            case .uint8: return 1
            }
        }
    }

    /// Header bytes for an array of `shape`. With `reserveDigits`, the first dimension is
    /// written with that many digits of padding so a streaming writer can rewrite the header in
    /// place once the final count is known, without moving the data.
    public static func header(dtype: DType, shape: [Int], reserveDigits: Int = 0) -> [UInt8] {
        var dims = shape.map(String.init)
        if reserveDigits > 0, !dims.isEmpty, dims[0].count < reserveDigits {
            // Leading spaces inside the tuple are valid Python and keep the length fixed.
            dims[0] = String(repeating: " ", count: reserveDigits - dims[0].count) + dims[0]
        }
        let tuple = dims.count == 1 ? "(\(dims[0]),)" : "(\(dims.joined(separator: ", ")))"
        var dict = "{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': \(tuple), }"
        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let unpadded = magic.count + 2 + dict.utf8.count + 1
        let total = (unpadded + 63) / 64 * 64
        dict += String(repeating: " ", count: total - unpadded) + "\n"
        let n = dict.utf8.count
        return magic + [UInt8(n & 0xff), UInt8(n >> 8)] + Array(dict.utf8)
    }

    /// Parses a v1/v2 header: dtype, shape and the offset where the data starts; nil for a
    /// header that cannot be read or a negative dimension.
    public static func parseHeader(_ bytes: [UInt8]) -> (dtype: String, shape: [Int], dataOffset: Int)? {
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            return nil
        }
        let major = bytes[6]
        let (len, start): (Int, Int)
        if major == 1 {
            len = Int(bytes[8]) | Int(bytes[9]) << 8
            start = 10
        } else {
            guard bytes.count >= 12 else { return nil }
            len = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            start = 12
        }
        guard bytes.count >= start + len, let text = String(bytes: bytes[start..<(start + len)], encoding: .utf8)
        else { return nil }
        guard let d0 = text.range(of: "'descr': '"), let d1 = text[d0.upperBound...].firstIndex(of: "'"),
            let s0 = text.range(of: "'shape': ("), let s1 = text[s0.upperBound...].firstIndex(of: ")"),
            !text.contains("'fortran_order': True")
        else { return nil }
        let dtype = String(text[d0.upperBound..<d1])
        let dims = text[s0.upperBound..<s1].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        guard dims.allSatisfy({ $0 >= 0 }) else { return nil }
        return (dtype, dims, start + len)
    }
}
