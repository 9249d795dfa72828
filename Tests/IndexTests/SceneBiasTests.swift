import Index
import Testing

@Suite("Scene-bias evaluation")
struct SceneBiasTests {
    /// Two classes, two in-context videos each; the vectors mix a "scene" axis (x) and a
    /// "motion" axis (y) so the answers can be worked out by hand.
    @Test("out-of-context and in-context recall and scene reliance equal the values worked out by hand")
    func handWorked() {
        // In context: class a on scene x+, class b on scene x-, each with its own motion (y).
        let gallery = [
            LabelledVector(vector: [1, 0.2], label: "a"), LabelledVector(vector: [1, 0.3], label: "a"),
            LabelledVector(vector: [-1, -0.2], label: "b"), LabelledVector(vector: [-1, -0.3], label: "b"),
        ]
        // Out of context: a on b's scene and b on a's scene. A scene-led vector (x dominates)
        // retrieves the wrong class; the first query leans to motion enough to be right.
        let queries = [
            LabelledVector(vector: [-0.1, 1], label: "a"),  // nearest: [1, 0.3] (a) → hit
            LabelledVector(vector: [1, -0.1], label: "b"),  // nearest: [1, 0.2] (a) → miss at 1, b is 3rd
        ]
        let row = SceneBias.evaluate(method: "m", inContext: gallery, outOfContext: queries, ks: [1, 2, 3])
        #expect(row.outOfContext(at: 1) == 0.5)
        #expect(row.outOfContext(at: 2) == 0.5)
        #expect(row.outOfContext(at: 3) == 1)
        // Leave one out in context: each video's nearest other video is its own class.
        #expect(row.inContext(at: 1) == 1)
        #expect(row.sceneReliance == 0.5)
        #expect(row.queries == 2 && row.gallery == 4 && row.classes == 2)
        // Per class: the a query is a hit, the b query a miss.
        #expect(row.outOfContextPerClass == ["a": 1, "b": 0])
    }
}
