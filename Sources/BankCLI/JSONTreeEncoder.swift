import BankCore

extension JSON {
  /// `value` as BankCore's `Encodable` conformance encodes it, keys in the order it encodes
  /// them (Foundation's `JSONEncoder` does not keep that order): the CLI prints the library's
  /// own shapes, so the two cannot drift apart.
  static func encoding(_ value: some Encodable) -> JSON {
    let node = TreeNode()
    do {
      try node.set(value, codingPath: [])
    } catch {
      // BankCore's conformances encode strings, integers, booleans and nulls only.
      return .string("\(value)")
    }
    return node.json
  }
}

/// A value under construction: a leaf, an object or an array.
private final class TreeNode {
  var leaf: JSON?
  var pairs: [(String, TreeNode)]?
  var items: [TreeNode]?

  var json: JSON {
    if let pairs { return .object(pairs.map { ($0.0, $0.1.json) }) }
    if let items { return .array(items.map(\.json)) }
    return leaf ?? .null
  }

  func set<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws {
    switch value {
    case let s as String: leaf = .string(s)
    case let b as Bool: leaf = .bool(b)
    case let i as any BinaryInteger:
      guard let v = Int64(exactly: i) else {
        throw EncodingError.invalidValue(
          value, .init(codingPath: codingPath, debugDescription: "outside Int64"))
      }
      leaf = .int(v)
    case is Double, is Float:
      // Money and rates are never binary floating point.
      throw EncodingError.invalidValue(
        value, .init(codingPath: codingPath, debugDescription: "floating point"))
    default:
      try value.encode(to: TreeEncoder(node: self, codingPath: codingPath))
    }
  }
}

private struct TreeEncoder: Encoder {
  let node: TreeNode
  var codingPath: [any CodingKey]
  var userInfo: [CodingUserInfoKey: Any] { [:] }

  func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
    if node.pairs == nil { node.pairs = [] }
    return KeyedEncodingContainer(Keyed<Key>(node: node, codingPath: codingPath))
  }

  func unkeyedContainer() -> any UnkeyedEncodingContainer {
    if node.items == nil { node.items = [] }
    return Unkeyed(node: node, codingPath: codingPath)
  }

  func singleValueContainer() -> any SingleValueEncodingContainer {
    Single(node: node, codingPath: codingPath)
  }
}

private struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
  let node: TreeNode
  var codingPath: [any CodingKey]

  private func child(_ key: Key) -> TreeNode {
    let c = TreeNode()
    node.pairs?.append((key.stringValue, c))
    return c
  }

  mutating func encodeNil(forKey key: Key) throws { child(key).leaf = .null }
  mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
    try child(key).set(value, codingPath: codingPath + [key])
  }
  mutating func encode(_ v: Bool, forKey key: Key) throws { try put(v, key) }
  mutating func encode(_ v: String, forKey key: Key) throws { try put(v, key) }
  mutating func encode(_ v: Double, forKey key: Key) throws { try put(v, key) }
  mutating func encode(_ v: Float, forKey key: Key) throws { try put(v, key) }
  mutating func encode(_ v: Int, forKey key: Key) throws { try put(v, key) }
  mutating func encode(_ v: Int8, forKey key: Key) throws { try put(v, key) }
  mutating func encode(_ v: Int16, forKey key: Key) throws { try put(v, key) }
  mutating func encode(_ v: Int32, forKey key: Key) throws { try put(v, key) }
  mutating func encode(_ v: Int64, forKey key: Key) throws { try put(v, key) }
  mutating func encode(_ v: UInt, forKey key: Key) throws { try put(v, key) }
  mutating func encode(_ v: UInt8, forKey key: Key) throws { try put(v, key) }
  mutating func encode(_ v: UInt16, forKey key: Key) throws { try put(v, key) }
  mutating func encode(_ v: UInt32, forKey key: Key) throws { try put(v, key) }
  mutating func encode(_ v: UInt64, forKey key: Key) throws { try put(v, key) }

  private func put<T: Encodable>(_ v: T, _ key: Key) throws {
    try child(key).set(v, codingPath: codingPath + [key])
  }

  mutating func nestedContainer<NestedKey: CodingKey>(
    keyedBy keyType: NestedKey.Type, forKey key: Key
  ) -> KeyedEncodingContainer<NestedKey> {
    TreeEncoder(node: child(key), codingPath: codingPath + [key]).container(keyedBy: keyType)
  }
  mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
    TreeEncoder(node: child(key), codingPath: codingPath + [key]).unkeyedContainer()
  }
  mutating func superEncoder() -> any Encoder { TreeEncoder(node: node, codingPath: codingPath) }
  mutating func superEncoder(forKey key: Key) -> any Encoder {
    TreeEncoder(node: child(key), codingPath: codingPath + [key])
  }
}

private struct Unkeyed: UnkeyedEncodingContainer {
  let node: TreeNode
  var codingPath: [any CodingKey]
  var count: Int { node.items?.count ?? 0 }

  private func child() -> TreeNode {
    let c = TreeNode()
    node.items?.append(c)
    return c
  }

  mutating func encodeNil() throws { child().leaf = .null }
  mutating func encode<T: Encodable>(_ value: T) throws {
    try child().set(value, codingPath: codingPath)
  }
  mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
    -> KeyedEncodingContainer<NestedKey>
  {
    TreeEncoder(node: child(), codingPath: codingPath).container(keyedBy: keyType)
  }
  mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
    TreeEncoder(node: child(), codingPath: codingPath).unkeyedContainer()
  }
  mutating func superEncoder() -> any Encoder { TreeEncoder(node: child(), codingPath: codingPath) }
}

private struct Single: SingleValueEncodingContainer {
  let node: TreeNode
  var codingPath: [any CodingKey]

  mutating func encodeNil() throws { node.leaf = .null }
  mutating func encode<T: Encodable>(_ value: T) throws {
    try node.set(value, codingPath: codingPath)
  }
}
