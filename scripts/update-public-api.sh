#!/usr/bin/env bash
# Brings each packable library's PublicAPI.{Shipped,Unshipped}.txt (src/*/PublicAPI.Shipped.txt: one
# baseline per library that has one) up to date with the public API the code declares,
# from the PublicApiAnalyzers diagnostics, so that a merge that adds or removes public members
# builds again and shows the change as a diff of those files:
#   RS0016 (public, not listed)  -> added to PublicAPI.Unshipped.txt (by the analyzer's own code fix)
#   RS0017 (listed, not public)  -> deleted from Unshipped.txt, or recorded as *REMOVED* there when
#                                   Shipped.txt lists it (Shipped.txt changes only at a release)
# At a release, move the Unshipped lines into Shipped.txt by hand (dropping *REMOVED* pairs).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Builds $proj and keeps, in $tmp/build.log, the analyzer's diagnostics about $proj itself: a build
# of an assembly builds the ones below it too, and their diagnostics belong to their own baselines.
diagnostics() {
    dotnet build "$proj" -c Debug --no-incremental -p:TreatWarningsAsErrors=false -nologo -clp:NoSummary > "$tmp/all.log" 2>&1 || true
    if grep -q " error " "$tmp/all.log"; then
        grep " error " "$tmp/all.log" | sort -u >&2
        echo "update-public-api: $proj does not build; fix that first" >&2
        exit 1
    fi
    grep -F "[$(realpath "$proj")]" "$tmp/all.log" > "$tmp/build.log" || true
}

# The model first, then the assemblies above it (the order does not matter for correctness now that
# each takes only its own diagnostics, but a reader follows the layers).
for shipped in src/Kiov/PublicAPI.Shipped.txt $(ls src/*/PublicAPI.Shipped.txt | grep -v '^src/Kiov/'); do
    dir=$(dirname "$shipped")
    proj=$dir/$(basename "$dir").csproj
    unshipped=$dir/PublicAPI.Unshipped.txt
    diagnostics
    grep -oP "warning RS0017: Symbol '\K.*(?=' is part of the declared API)" "$tmp/build.log" | sort -u > "$tmp/gone" || true
    while IFS= read -r symbol; do
        if grep -qxF -- "$symbol" "$unshipped"; then
            grep -vxF -- "$symbol" "$unshipped" > "$tmp/u" || true
            cat "$tmp/u" > "$unshipped"
        elif grep -qxF -- "$symbol" "$shipped" && ! grep -qxF -- "*REMOVED*$symbol" "$unshipped"; then
            printf '*REMOVED*%s\n' "$symbol" >> "$unshipped"
        fi
    done < "$tmp/gone"
    echo "update-public-api: $proj: $(wc -l < "$tmp/gone") symbols no longer public"

    if grep -q "warning RS0016" "$tmp/build.log"; then
        added_before=$(wc -l < "$unshipped")
        dotnet format analyzers "$proj" --diagnostics RS0016 --severity info --no-restore
        echo "update-public-api: $proj: $(( $(wc -l < "$unshipped") - added_before )) symbols newly public"
    fi

    diagnostics
    if grep -qE "warning RS00(16|17)" "$tmp/build.log"; then
        grep -E "warning RS00(16|17)" "$tmp/build.log" | sort -u >&2
        echo "update-public-api: $proj: the baseline still differs from the code (see above)" >&2
        exit 1
    fi
    git diff --stat -- "$shipped" "$unshipped" || true
done
