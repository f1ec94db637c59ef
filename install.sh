#!/usr/bin/env bash
# Builds teardown in release mode and installs it with its manual page and shell completion:
#   PREFIX/bin/teardown                      (PREFIX: /usr/local unless given)
#   PREFIX/share/man/man1/teardown.1         (man teardown)
#   PREFIX/share/bash-completion/completions/teardown, .../zsh/site-functions/_teardown,
#   PREFIX/share/fish/vendor_completions.d/teardown.fish
# Needs libpcap-dev, zlib1g-dev and libzstd-dev (see the README's first command).
#
#   ./install.sh [PREFIX]
set -euo pipefail
cd "$(dirname "$0")"
prefix=${1:-/usr/local}
swift build -c release --static-swift-stdlib --product teardown
binary=.build/release/teardown
install -d "$prefix/bin" "$prefix/share/man/man1" "$prefix/share/bash-completion/completions" \
    "$prefix/share/zsh/site-functions" "$prefix/share/fish/vendor_completions.d"
install -m 755 "$binary" "$prefix/bin/teardown"
# The manual, generated from the same help texts as --help (swift-argument-parser's plugin).
swift package --allow-writing-to-package-directory generate-manual >/dev/null
install -m 644 .build/plugins/GenerateManual/outputs/teardown/teardown.1 "$prefix/share/man/man1/teardown.1"
"$binary" --generate-completion-script bash >"$prefix/share/bash-completion/completions/teardown"
"$binary" --generate-completion-script zsh >"$prefix/share/zsh/site-functions/_teardown"
"$binary" --generate-completion-script fish >"$prefix/share/fish/vendor_completions.d/teardown.fish"
echo "installed $prefix/bin/teardown (release build), its manual (man teardown) and completions for bash, zsh and fish" >&2
