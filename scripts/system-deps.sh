#!/usr/bin/env bash
# Makes sure the Debian/Ubuntu packages reportgen needs are installed: Pango and HarfBuzz
# for WeasyPrint, DejaVu fonts (the report's font), python3-venv where the interpreter
# lacks ensurepip; with `test`, also poppler-utils (tests read PDF pages), chromium (the
# browser test opens the HTML), openssl (a certificate for the STARTTLS email test) and
# postgresql (the SQL-source tests start a throwaway server from its binaries) and, where
# no java runs, default-jre-headless (engine: spark's tests run a local Spark). As
# root it installs what is missing; otherwise, or when a package is not in the system's
# lists, it says so in one line (tests needing an optional one then skip, saying why; CI's
# .ci/run fails on any skip).
#   scripts/system-deps.sh PYTHON [run|test]
set -euo pipefail
python="${1:-python3}"
mode="${2:-run}"

required=(libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)
optional=(libharfbuzz-subset0)   # faster PDF writing; not in every release
if [ "$mode" = test ]; then
  required+=(poppler-utils)
  optional+=(chromium openssl postgresql)
  command -v java >/dev/null 2>&1 || [ -n "${JAVA_HOME:-}" ] || optional+=(default-jre-headless)
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "note: not a Debian/Ubuntu system; install Pango, HarfBuzz, DejaVu fonts and poppler-utils yourself" >&2
  exit 0
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
available() { apt-cache show "$1" >/dev/null 2>&1; }

missing=()
for package in "${required[@]}"; do installed "$package" || missing+=("$package"); done
if [ -n "$python" ] && command -v "$python" >/dev/null 2>&1 && ! "$python" -c "import ensurepip" 2>/dev/null; then
  version=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  missing+=("python${version}-venv")
fi
wanted_optional=()
for package in "${optional[@]}"; do installed "$package" || wanted_optional+=("$package"); done

[ ${#missing[@]} -eq 0 ] && [ ${#wanted_optional[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  if [ ${#missing[@]} -gt 0 ]; then
    echo "error: missing system packages: ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "note: not installed: ${wanted_optional[*]}; the tests that need them will skip" \
       "(sudo apt-get install ${wanted_optional[*]}, or run this script as root)" >&2
  exit 0   # only optional packages missing: carry on
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
unavailable=()
for package in "${wanted_optional[@]}"; do
  if available "$package"; then missing+=("$package"); else unavailable+=("$package"); fi
done
if [ ${#unavailable[@]} -gt 0 ]; then
  echo "note: not in this system's package lists: ${unavailable[*]}; the tests that need" \
       "them will skip (and CI, where nothing may skip, fails naming them)" >&2
fi
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing system packages: ${missing[*]}" >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
