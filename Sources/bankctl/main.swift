import Foundation

ProcessSetup.prepareStandardDescriptors()
exit(
  run(
    Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment,
    console: Console(direct: true)))
