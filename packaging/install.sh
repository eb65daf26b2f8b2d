#!/usr/bin/env sh
# Install the Rollout Studio bundle for this user (no root, no Python needed):
#   ./install.sh              into ~/.local (PREFIX=/opt/x ./install.sh elsewhere)
#   ./install.sh --uninstall  remove what it installed
# The bundle goes to PREFIX/lib/rollout-studio, the command to PREFIX/bin/rollout-studio; the desktop
# entry, the icons and the MIME types of the formats it opens (.hdf5; LeRobot and Cosmos folders
# through "Open with") go to PREFIX/share and are registered when the desktop tools are present.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
PREFIX=${PREFIX:-"$HOME/.local"}
APP="$PREFIX/lib/rollout-studio"
BIN="$PREFIX/bin/rollout-studio"
SHARE="$PREFIX/share"
SIZES="16 24 32 48 64 128 256 512"

refresh() {
    command -v update-mime-database >/dev/null 2>&1 && update-mime-database "$SHARE/mime" >/dev/null 2>&1 || true
    command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$SHARE/applications" >/dev/null 2>&1 || true
    command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$SHARE/icons/hicolor" >/dev/null 2>&1 || true
}

if [ "${1:-}" = "--uninstall" ]; then
    # only what this script installed: the bundle folder it made, its link, its share files
    if [ -f "$APP/.installed-by-rollout-studio" ]; then rm -rf "$APP"; fi
    if [ -L "$BIN" ]; then rm -f "$BIN"; fi
    rm -f "$SHARE/applications/rollout-studio.desktop" "$SHARE/mime/packages/rollout-studio.xml" \
          "$SHARE/icons/hicolor/scalable/apps/rollout-studio.svg"
    for size in $SIZES; do rm -f "$SHARE/icons/hicolor/${size}x${size}/apps/rollout-studio.png"; done
    refresh
    echo "Rollout Studio removed from $PREFIX"
    exit 0
fi

[ -x "$HERE/rollout-studio" ] && [ -d "$HERE/_internal" ] || {
    echo "error: $HERE does not hold the bundle (rollout-studio and _internal/); run install.sh from the unpacked folder" >&2
    exit 2
}
if [ -e "$APP" ] && [ ! -f "$APP/.installed-by-rollout-studio" ]; then
    echo "error: $APP exists and was not installed by this script; move it away first" >&2
    exit 2
fi
mkdir -p "$PREFIX/lib" "$PREFIX/bin" "$SHARE/applications" "$SHARE/mime/packages" "$SHARE/icons/hicolor/scalable/apps"
staging="$APP.partial-$$"
rm -rf "$staging"
cp -a "$HERE" "$staging"
touch "$staging/.installed-by-rollout-studio"
if [ -e "$APP" ]; then
    mv "$APP" "$APP.old-$$" && mv "$staging" "$APP" && rm -rf "$APP.old-$$"
else
    mv "$staging" "$APP"
fi
if [ -e "$BIN" ] && [ ! -L "$BIN" ]; then
    echo "error: $BIN exists and is not a link; move it away first" >&2
    exit 2
fi
ln -sfn "$APP/rollout-studio" "$BIN"
sed "s|^Exec=.*|Exec=\"$APP/rollout-studio\" %F|; s|^TryExec=.*|TryExec=$APP/rollout-studio|" \
    "$HERE/share/applications/rollout-studio.desktop" > "$SHARE/applications/rollout-studio.desktop"
cp "$HERE/share/mime/packages/rollout-studio.xml" "$SHARE/mime/packages/rollout-studio.xml"
cp "$HERE/share/icons/rollout-studio.svg" "$SHARE/icons/hicolor/scalable/apps/rollout-studio.svg"
for size in $SIZES; do
    mkdir -p "$SHARE/icons/hicolor/${size}x${size}/apps"
    cp "$HERE/share/icons/rollout-studio-$size.png" "$SHARE/icons/hicolor/${size}x${size}/apps/rollout-studio.png"
done
refresh
if command -v xdg-mime >/dev/null 2>&1; then
    xdg-mime default rollout-studio.desktop application/x-hdf5 >/dev/null 2>&1 || true
fi
echo "Rollout Studio installed: $BIN (desktop entry, icons and .hdf5 type registered in $SHARE)"
case ":$PATH:" in *":$PREFIX/bin:"*) ;; *) echo "note: add $PREFIX/bin to PATH to run rollout-studio from a terminal" ;; esac
