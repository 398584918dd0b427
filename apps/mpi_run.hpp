// `distclip run` on MPI ranks: every rank resolves the same configuration,
// checks that the others agree, hosts its block of workers, and rank 0
// alone writes and prints. Built with DISTCLIP_WITH_MPI.
#pragma once

#include <string>

#include "config.hpp"

namespace distclip::app {

// Runs `config` on the ranks of MPI_COMM_WORLD, initialising MPI for the
// process. Returns the exit status. Disagreeing configurations, a worker
// count the rank count does not divide and an unusable --out end every rank
// with status 2; a failure during the run ends every rank through MPI_Abort,
// after the failing rank says which it is and where it failed.
int run_on_mpi(const RunConfig& config, const std::string& out, bool overwrite, bool resume);

}  // namespace distclip::app
