/// Cosine similarity of two vectors of one length, summed in double precision; 0 when either
/// vector is zero. Vectors of different lengths are a programming error (two models mixed),
/// never a similarity of 0.
public func cosine(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "cosine of vectors of different lengths (\(a.count) and \(b.count))")
    var dot = 0.0
    var na = 0.0
    var nb = 0.0
    for i in a.indices {
        dot += Double(a[i]) * Double(b[i])
        na += Double(a[i]) * Double(a[i])
        nb += Double(b[i]) * Double(b[i])
    }
    return na > 0 && nb > 0 ? Float(dot / (na.squareRoot() * nb.squareRoot())) : 0
}
