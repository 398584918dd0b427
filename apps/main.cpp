// The distclip program: `distclip run`, `distclip list`, `distclip sweep`.
#include "commands.hpp"

int main(int argc, char** argv) { return distclip::app::main_program(argc, argv); }
