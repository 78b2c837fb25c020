import Foundation

ProcessSetup.prepareStandardDescriptors()
// `CommandLine.arguments` decodes with replacement characters; the raw bytes say whether each
// argument really is UTF-8.
let notUTF8 = (1..<max(1, Int(CommandLine.argc))).first { i in
  guard let p = CommandLine.unsafeArgv[i] else { return false }
  let bytes = UnsafeBufferPointer(
    start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: strlen(p))
  return String(validating: bytes, as: UTF8.self) == nil
}
exit(
  run(
    Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment,
    console: Console(direct: true), notUTF8: notUTF8))
