# Parse-and-run check of the vendor Tcl flows WITHOUT the vendor tools:
#   tclsh hls/scripts/tcl_check.tcl SCRIPT STUB_DIR ARG...
# Every Vitis/Vivado command is stubbed (the `unknown` handler records it and returns a name),
# `exit` is intercepted, and a few queries return paths under STUB_DIR so the script's own
# file handling runs. Prints each vendor command as "CALL <command line>" and finally
# "TCL-CHECK OK"; any Tcl error (syntax, unset variable, bad arguments) fails with a message.
# ipx::get_bus_interfaces NAME returns NAME (Vivado inferred it) unless STUB_DIR/missing_bus_interfaces
# lists it, and returns nothing without a name (package_project's own guesses are not modelled).
# It proves the scripts are well-formed Tcl and call the flow in order; it does not prove Vitis
# or Vivado accept every option (they were not available here).
set script [lindex $argv 0]
set ::stub_dir [lindex $argv 1]
set argv [lrange $argv 2 end]
set argc [llength $argv]

proc unknown {args} {
    puts "CALL [join $args { }]"
    return [lindex $args end]
}
proc get_property {name args} {
    puts "CALL get_property $name $args"
    switch -- $name {
        PROGRESS { return "100%" }
        DIRECTORY { return $::stub_dir }
        default { return "" }
    }
}
proc get_files {args} {
    puts "CALL get_files $args"
    return [file join $::stub_dir syna.hwh]
}
namespace eval ipx {}
set ::missing_busifs {}
if {[file exists [file join $::stub_dir missing_bus_interfaces]]} {
    set f [open [file join $::stub_dir missing_bus_interfaces]]
    set ::missing_busifs [read $f]
    close $f
}
proc ipx::get_bus_interfaces {args} {
    puts "CALL ipx::get_bus_interfaces $args"
    set name [lindex $args 0]
    if {[string match -* $name] || [lsearch -exact $::missing_busifs $name] >= 0} { return [list] }
    return $name
}
rename exit __tcl_check_exit
proc exit {args} { puts "CALL exit $args"; return -code return }

set here [pwd]
if {[catch {uplevel #0 [list source $script]} err opts]} {
    cd $here
    puts "TCL-CHECK FAILED: $err"
    puts [dict get $opts -errorinfo]
    __tcl_check_exit 1
}
cd $here
puts "TCL-CHECK OK"
__tcl_check_exit 0
