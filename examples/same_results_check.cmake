# One seed makes a run reproducible, at any thread count: a HoC program run twice, with 1 and 2
# threads, must print the same training losses, dev scores and test scores (timings aside), those
# of the seed trained again on train + dev (--refit) too.
#   cmake -DPROGRAM=<hoc program> -DDIR=<scratch dir> -P same_results_check.cmake
file(REMOVE_RECURSE ${DIR})
set(results "")
foreach(threads 1 2)
  execute_process(COMMAND ${PROGRAM} --quick --refit --threads ${threads} --out ${DIR}/${threads}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${PROGRAM} --quick --refit --threads ${threads} failed (${rc}):\n${out}${err}")
  endif()
  # Every line with a score or a loss, cut before any timing (at a ';', which also splits a CMake
  # list), and the summary line without its seconds.
  string(REGEX MATCHALL "[^\n]*(train loss|micro-F1|uncertainty|probabilities|summary)[^\n;]*" lines "${out}")
  set(kept "")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE " \\| [0-9.]+ \\| [0-9]+ \\| " " | " line "${line}")  # the summary's seconds
    list(APPEND kept "${line}")
  endforeach()
  list(LENGTH kept count)
  if(count LESS 10)
    message(FATAL_ERROR "only ${count} result lines found in:\n${out}")
  endif()
  list(APPEND results "${kept}")
  set(run_${threads} "${kept}")
endforeach()
if(NOT run_1 STREQUAL run_2)
  message(FATAL_ERROR "1 and 2 threads gave different results:\n${run_1}\n---\n${run_2}")
endif()
message(STATUS "1 and 2 threads: the same ${count} result lines")
