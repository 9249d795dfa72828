/// A value built by the pickle machine. Lists and dicts are reference types because pickle
/// memoises them before filling them (`EMPTY_DICT`, `BINPUT`, `SETITEMS`).
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// A `module.name` reference (a class or function), not yet called.
    case global(String, String)
    /// A tensor storage named by a persistent id.
    case storage(TorchStorageRef)
    case tensor(TorchTensorRef)
    /// Something the machine does not build (a call to an unknown function, an unknown
    /// class instance). Kept as a description so that it is an error only if it is used.
    case opaque(String)

    /// Short description for error messages.
    var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "a bool"
        case .int: return "an int"
        case .float: return "a float"
        case .string: return "a string"
        case .bytes: return "bytes"
        case .tuple: return "a tuple"
        case .list: return "a list"
        case .dict: return "a dict"
        case .global(let m, let n): return "a reference to \(m).\(n)"
        case .storage: return "a storage"
        case .tensor: return "a tensor"
        case .opaque(let what): return what
        }
    }
}

final class PickleList {
    var items: [PickleValue] = []
}

/// An ordered dict (insertion order kept, as Python's).
final class PickleDict {
    private(set) var items: [(key: PickleValue, value: PickleValue)] = []
    private var stringIndex: [String: Int] = [:]

    func set(_ key: PickleValue, _ value: PickleValue) {
        if case .string(let s) = key, let i = stringIndex[s] {
            items[i].value = value
            return
        }
        if case .string(let s) = key { stringIndex[s] = items.count }
        items.append((key, value))
    }

    func value(forKey key: String) -> PickleValue? { stringIndex[key].map { items[$0].value } }
}

/// The element types of PyTorch storages (`torch.FloatStorage`, ...).
enum TorchDType: String {
    case float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool

    init?(storageClass name: String) {
        switch name {
        case "FloatStorage": self = .float32
        case "DoubleStorage": self = .float64
        case "HalfStorage": self = .float16
        case "BFloat16Storage": self = .bfloat16
        case "LongStorage": self = .int64
        case "IntStorage": self = .int32
        case "ShortStorage": self = .int16
        case "CharStorage": self = .int8
        case "ByteStorage": self = .uint8
        case "BoolStorage": self = .bool
        default: return nil
        }
    }

    var size: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    var isFloatingPoint: Bool { [.float32, .float64, .float16, .bfloat16].contains(self) }
}

/// A storage as the persistent id names it: `('storage', torch.FloatStorage, key, location, numel)`.
struct TorchStorageRef {
    var key: String
    var dtype: TorchDType
    var location: String
    var count: Int
}

/// A tensor as `torch._utils._rebuild_tensor_v2` describes it: a view of a storage.
struct TorchTensorRef {
    var storage: TorchStorageRef
    var offset: Int
    var shape: [Int]
    var strides: [Int]
}

/// A minimal, non-executing pickle machine for what `torch.save` writes (protocol 2; the
/// opcodes of protocols 0-4 that such files can contain). It calls no Python: the only
/// "functions" it knows are `collections.OrderedDict`, the tensor rebuild functions of
/// `torch._utils` and `_codecs.encode`; any other call becomes an opaque value, which is an
/// error only if a tensor the caller wants is inside it. Persistent ids become storage references.
struct PickleMachine {
    let bytes: [UInt8]
    let path: String
    /// The next byte to read; after `run()`, just past the STOP of that pickle.
    private(set) var position: Int
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    init(bytes: [UInt8], path: String, start: Int = 0) {
        self.bytes = bytes
        self.path = path
        position = start
    }

    /// Runs the next pickle of a stream of several (the legacy format writes five in a row):
    /// the stack and marks start empty, the memo too.
    mutating func runNext() throws -> PickleValue {
        stack = []
        marks = []
        memo = [:]
        return try run()
    }

    func fail(_ problem: String) -> TorchCheckpointError {
        TorchCheckpointError(path: path, problem: problem)
    }

    /// Runs the program to STOP and returns the pickled object.
    mutating func run() throws -> PickleValue {
        while true {
            let op = try byte()
            switch op {
            case 0x80: _ = try byte()  // PROTO n
            case 0x95: _ = try take(8)  // FRAME (protocol 4): a length hint only
            case 0x2E:  // STOP
                guard let top = stack.popLast() else { throw fail("has a damaged data.pkl (STOP with an empty stack)") }
                return top
            case 0x28: marks.append(stack.count)  // MARK
            case 0x7D: stack.append(.dict(PickleDict()))  // EMPTY_DICT
            case 0x5D: stack.append(.list(PickleList()))  // EMPTY_LIST
            case 0x29: stack.append(.tuple([]))  // EMPTY_TUPLE
            case 0x74: stack.append(.tuple(try popMark()))  // TUPLE
            case 0x85: stack.append(.tuple([try pop()]))  // TUPLE1
            case 0x86:  // TUPLE2
                let b = try pop()
                let a = try pop()
                stack.append(.tuple([a, b]))
            case 0x87:  // TUPLE3
                let c = try pop()
                let b = try pop()
                let a = try pop()
                stack.append(.tuple([a, b, c]))
            case 0x4E: stack.append(.none)  // NONE
            case 0x88: stack.append(.bool(true))  // NEWTRUE
            case 0x89: stack.append(.bool(false))  // NEWFALSE
            case 0x4A: stack.append(.int(Int(Int32(bitPattern: UInt32(try uint(4))))))  // BININT
            case 0x4B: stack.append(.int(Int(try uint(1))))  // BININT1
            case 0x4D: stack.append(.int(Int(try uint(2))))  // BININT2
            case 0x8A: stack.append(try long(Int(try uint(1))))  // LONG1
            case 0x8B: stack.append(try long(Int(try uint(4))))  // LONG4
            case 0x47: stack.append(.float(Double(bitPattern: try bigEndian64())))  // BINFLOAT
            case 0x49:  // INT (protocol 0): decimal text, "01"/"00" for bools
                let text = try line()
                if text == "01" {
                    stack.append(.bool(true))
                } else if text == "00" {
                    stack.append(.bool(false))
                } else {
                    guard let v = Int(text) else { throw fail("has a damaged data.pkl (INT \(text))") }
                    stack.append(.int(v))
                }
            case 0x58: stack.append(.string(try utf8(Int(try uint(4)))))  // BINUNICODE
            case 0x8C: stack.append(.string(try utf8(Int(try uint(1)))))  // SHORT_BINUNICODE
            case 0x8D: stack.append(.string(try utf8(Int(clamping: try uint(8)))))  // BINUNICODE8 (take refuses > file)
            case 0x54: stack.append(.string(try latin1(Int(try uint(4)))))  // BINSTRING
            case 0x55: stack.append(.string(try latin1(Int(try uint(1)))))  // SHORT_BINSTRING
            case 0x42: stack.append(.bytes(try take(Int(try uint(4)))))  // BINBYTES
            case 0x43: stack.append(.bytes(try take(Int(try uint(1)))))  // SHORT_BINBYTES
            case 0x8E: stack.append(.bytes(try take(Int(clamping: try uint(8)))))  // BINBYTES8
            case 0x71: memo[Int(try uint(1))] = try top()  // BINPUT
            case 0x72: memo[Int(try uint(4))] = try top()  // LONG_BINPUT
            case 0x94: memo[memo.count] = try top()  // MEMOIZE
            case 0x68: stack.append(try memoValue(Int(try uint(1))))  // BINGET
            case 0x6A: stack.append(try memoValue(Int(try uint(4))))  // LONG_BINGET
            case 0x30: _ = try pop()  // POP
            case 0x31: _ = try popMark()  // POP_MARK
            case 0x32: stack.append(try top())  // DUP
            case 0x63:  // GLOBAL "module\nname\n"
                let module = try line()
                let name = try line()
                stack.append(.global(module, name))
            case 0x93:  // STACK_GLOBAL
                let name = try pop()
                let module = try pop()
                guard case .string(let m) = module, case .string(let n) = name else {
                    throw fail("has a damaged data.pkl (STACK_GLOBAL without strings)")
                }
                stack.append(.global(m, n))
            case 0x52:  // REDUCE
                let args = try pop()
                let callable = try pop()
                guard case .tuple(let a) = args else {
                    throw fail("has a damaged data.pkl (REDUCE without an argument tuple)")
                }
                stack.append(try call(callable, a))
            case 0x81:  // NEWOBJ
                let args = try pop()
                let cls = try pop()
                guard case .tuple(let a) = args else {
                    throw fail("has a damaged data.pkl (NEWOBJ without an argument tuple)")
                }
                stack.append(try call(cls, a))
            case 0x92:  // NEWOBJ_EX
                _ = try pop()
                let args = try pop()
                let cls = try pop()
                guard case .tuple(let a) = args else {
                    throw fail("has a damaged data.pkl (NEWOBJ_EX without an argument tuple)")
                }
                stack.append(try call(cls, a))
            case 0x62:  // BUILD: object state (an OrderedDict's `_metadata`, ...) is not needed
                _ = try pop()
            case 0x51:  // BINPERSID
                stack.append(try persistentLoad(try pop()))
            case 0x73:  // SETITEM
                let value = try pop()
                let key = try pop()
                guard case .dict(let d) = try top() else {
                    throw fail("has a damaged data.pkl (SETITEM on \(try top().kind))")
                }
                d.set(key, value)
            case 0x75:  // SETITEMS
                let items = try popMark()
                guard items.count % 2 == 0 else { throw fail("has a damaged data.pkl (SETITEMS with an odd count)") }
                let target = try top()
                if case .dict(let d) = target {
                    for i in Swift.stride(from: 0, to: items.count, by: 2) { d.set(items[i], items[i + 1]) }
                } else if case .opaque = target {
                    // Items of an object we do not build (e.g. a custom mapping): dropped with it.
                } else {
                    throw fail("has a damaged data.pkl (SETITEMS on \(target.kind))")
                }
            case 0x61:  // APPEND
                let value = try pop()
                if case .list(let l) = try top() { l.items.append(value) }
            case 0x65:  // APPENDS
                let values = try popMark()
                if case .list(let l) = try top() { l.items += values }
            default:
                throw fail(
                    "has pickle opcode 0x\(String(op, radix: 16)) at byte \(position - 1) of data.pkl, which a torch.save state dict does not use"
                )
            }
        }
    }

    // MARK: - Calls

    /// The few callables a state dict needs; anything else becomes an opaque value.
    private func call(_ callable: PickleValue, _ args: [PickleValue]) throws -> PickleValue {
        guard case .global(let module, let name) = callable else {
            return .opaque("the result of calling \(callable.kind)")
        }
        switch (module, name) {
        case ("collections", "OrderedDict"), ("builtins", "dict"), ("__builtin__", "dict"):
            return .dict(PickleDict())
        case ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor"):
            // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
            guard args.count >= 4, case .storage(let storage) = args[0], case .int(let offset) = args[1],
                let shape = ints(args[2]), let strides = ints(args[3]), shape.count == strides.count
            else { throw fail("has a tensor with malformed arguments to torch._utils.\(name)") }
            return .tensor(TorchTensorRef(storage: storage, offset: offset, shape: shape, strides: strides))
        case ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"):
            // nn.Parameter(data, requires_grad, hooks): the data is the tensor.
            guard let data = args.first, case .tensor = data else { throw fail("has a parameter without tensor data") }
            return data
        case ("torch._tensor", "_rebuild_from_type_v2"):
            // (func, new_type, args, state): a tensor subclass; the tensor is func(*args).
            guard args.count >= 3, case .tuple(let inner) = args[2] else {
                throw fail("has a malformed tensor subclass record")
            }
            return try call(args[0], inner)
        case ("_codecs", "encode"):
            // Protocol 2 pickles bytes as _codecs.encode(text, 'latin1').
            guard case .string(let s)? = args.first else { return .opaque("bytes") }
            return .bytes(s.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) })
        case ("torch._utils", let f) where f.hasPrefix("_rebuild"):
            return .opaque("a tensor of a kind that cannot be converted (torch._utils.\(f): quantized, sparse or meta)")
        default:
            return .opaque("an object built by \(module).\(name)")
        }
    }

    /// `('storage', torch.FloatStorage, key, location, numel)`; the legacy format adds a sixth
    /// item, `view_metadata`, which is None except for storage views of PyTorch before 0.4.
    private func persistentLoad(_ pid: PickleValue) throws -> PickleValue {
        guard case .tuple(let t) = pid, t.count >= 5, case .string("storage") = t[0] else {
            throw fail("has a persistent id that is not a tensor storage (\(pid.kind))")
        }
        if t.count >= 6, case .tuple = t[5] {
            throw fail("uses storage views (a checkpoint from PyTorch before 0.4), which cannot be converted")
        }
        guard case .global(_, let className) = t[1] else { throw fail("has a storage without a storage type") }
        guard let dtype = TorchDType(storageClass: className) else {
            throw fail("has a storage of type \(className), which cannot be converted")
        }
        guard case .string(let key) = t[2], case .int(let count) = t[4], count >= 0 else {
            throw fail("has a malformed storage record")
        }
        var location = ""
        if case .string(let l) = t[3] { location = l }
        return .storage(TorchStorageRef(key: key, dtype: dtype, location: location, count: count))
    }

    private func ints(_ v: PickleValue) -> [Int]? {
        guard case .tuple(let items) = v else { return nil }
        var out: [Int] = []
        for item in items {
            guard case .int(let i) = item else { return nil }
            out.append(i)
        }
        return out
    }

    // MARK: - Stack and bytes

    private mutating func pop() throws -> PickleValue {
        guard let v = stack.popLast() else {
            throw fail("has a damaged data.pkl (stack underflow at byte \(position))")
        }
        return v
    }

    private func top() throws -> PickleValue {
        guard let v = stack.last else { throw fail("has a damaged data.pkl (stack underflow at byte \(position))") }
        return v
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let mark = marks.popLast(), mark <= stack.count else { throw fail("has a damaged data.pkl (no MARK)") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private func memoValue(_ i: Int) throws -> PickleValue {
        guard let v = memo[i] else { throw fail("has a damaged data.pkl (memo \(i) is unset)") }
        return v
    }

    private mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw fail("has a truncated data.pkl (it ends before STOP)") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func take(_ n: Int) throws -> [UInt8] {
        guard n >= 0, n <= bytes.count - position else {
            throw fail("has a truncated data.pkl (it ends inside a value)")
        }
        defer { position += n }
        return Array(bytes[position..<(position + n)])
    }

    private mutating func uint(_ n: Int) throws -> UInt64 {
        let b = try take(n)
        var v: UInt64 = 0
        for (i, x) in b.enumerated() { v |= UInt64(x) << (8 * UInt64(i)) }
        return v
    }

    private mutating func bigEndian64() throws -> UInt64 {
        try take(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// LONG1/LONG4: little-endian two's complement of `n` bytes.
    private mutating func long(_ n: Int) throws -> PickleValue {
        let b = try take(n)
        guard n <= 8 else { return .opaque("an integer wider than 64 bits") }
        guard n > 0 else { return .int(0) }
        var v: UInt64 = 0
        for (i, x) in b.enumerated() { v |= UInt64(x) << (8 * UInt64(i)) }
        if n < 8 && b[n - 1] & 0x80 != 0 { v |= ~0 << (8 * UInt64(n)) }
        return .int(Int(Int64(bitPattern: v)))
    }

    private mutating func utf8(_ n: Int) throws -> String { String(decoding: try take(n), as: UTF8.self) }

    private mutating func latin1(_ n: Int) throws -> String {
        String(String.UnicodeScalarView(try take(n).map { Unicode.Scalar($0) }))
    }

    private mutating func line() throws -> String {
        guard let end = bytes[position...].firstIndex(of: 0x0A) else {
            throw fail("has a truncated data.pkl (unterminated line)")
        }
        defer { position = end + 1 }
        return String(decoding: bytes[position..<end], as: UTF8.self)
    }
}
