# Shared by the bench/round*.sh scripts (sourced, not run): `step NAME COMMAND...` runs the
# command and writes the machine's load before and after it, and the command, to
# "$OUT/load.txt", so a figure can be read against how busy the machine was.
step() {
    echo "== $1: $(uptime)" | tee -a "$OUT/load.txt"
    shift
    echo "   $*" >>"$OUT/load.txt"
    "$@"
    echo "   done: $(uptime)" >>"$OUT/load.txt"
}
