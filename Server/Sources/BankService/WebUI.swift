import Foundation
import Hummingbird

/// The web UI: plain HTML, CSS and JavaScript files, read once at start and served as they are
/// (no build step, nothing fetched from elsewhere). `/` is `index.html`; every other file is
/// served at `/NAME`.
public struct WebUI: Sendable {
  struct File: Sendable {
    let bytes: ByteBuffer
    let type: String
  }

  let files: [String: File]

  /// The files of `root` (default: the copy built into this package).
  public init(root: String? = nil) throws {
    let folder =
      root ?? Bundle.module.url(forResource: "Web", withExtension: nil)?.path ?? "Web"
    var files: [String: File] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
    where !name.hasPrefix(".") {
      let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))
      files[name] = File(bytes: ByteBuffer(bytes: data), type: Self.type(of: name))
    }
    self.files = files
  }

  static func type(of name: String) -> String {
    switch name.split(separator: ".").last ?? "" {
    case "html": "text/html; charset=utf-8"
    case "css": "text/css; charset=utf-8"
    case "js": "text/javascript; charset=utf-8"
    case "svg": "image/svg+xml"
    case "png": "image/png"
    case "ico": "image/x-icon"
    case "json", "webmanifest": "application/json"
    default: "application/octet-stream"
    }
  }

  /// A route for each file.
  public func register(on router: Router<BankRequestContext>) {
    for (name, file) in files {
      let paths = name == "index.html" ? ["/", "/index.html"] : ["/" + name]
      for path in paths {
        router.get(RouterPath(path)) { _, _ in
          var headers = HTTPFields()
          headers[.contentType] = file.type
          headers[.cacheControl] = "no-cache"
          return Response(status: .ok, headers: headers, body: .init(byteBuffer: file.bytes))
        }
      }
    }
  }
}
