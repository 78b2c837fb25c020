/// The methods each documented path answers, read from the OpenAPI document (the source of truth
/// for the routes), so that a known path asked with another method is answered 405 with `Allow`
/// rather than 404.
enum DocumentedRoutes {
  /// Each documented path's segments (`{name}` matching any one segment) and its methods, upper
  /// case.
  static let table: [(segments: [Substring], methods: [String])] = {
    var out: [(segments: [Substring], methods: [String])] = []
    var inPaths = false
    for line in OpenAPI.yaml.split(separator: "\n", omittingEmptySubsequences: true) {
      if line == "paths:" {
        inPaths = true
        continue
      }
      guard inPaths else { continue }
      if !line.hasPrefix(" ") { break }
      let indent = line.prefix { $0 == " " }.count
      let key = line.dropFirst(indent)
      if indent == 2, key.hasPrefix("/"), key.hasSuffix(":") {
        out.append((key.dropLast().split(separator: "/"), []))
      } else if indent == 4, key.hasSuffix(":"), !out.isEmpty {
        let method = key.dropLast()
        if ["get", "post", "put", "patch", "delete"].contains(method) {
          out[out.count - 1].methods.append(method.uppercased())
        }
      }
    }
    return out
  }()

  /// The methods `path` answers, or `nil` when no documented route has that shape.
  static func methods(forPath path: some StringProtocol) -> [String]? {
    let parts = path.split(separator: "/")
    var found: [String] = []
    for route in table where route.segments.count == parts.count {
      let matches = zip(route.segments, parts).allSatisfy { pattern, part in
        pattern.hasPrefix("{") || pattern == part
      }
      if matches { found += route.methods }
    }
    return found.isEmpty ? nil : found
  }
}
