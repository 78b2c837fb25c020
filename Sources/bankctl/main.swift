import BankCLI

// bankctl: every command of BankCLI, on a journal file.
BankCLI.main(opener: { FileStoreOpener(path: $0) })
