# hoc_ensemble reads back exactly what a program saved: a quick Kim CNN's --save-predictions file
# combined with itself is the same model (the mean of two equal probabilities is each of them, to
# the bit), so the combination must print the program's own evaluation: the dev score of every
# rule, the rule chosen, the test scores, the per-hallmark table and the abstention table.
#   cmake -DPROGRAM=<hoc_kim_cnn> -DENSEMBLE=<hoc_ensemble> -DDIR=<scratch dir> -P ensemble_check.cmake
file(REMOVE_RECURSE ${DIR})
file(MAKE_DIRECTORY ${DIR})

# The evaluation's lines of a report: the rules' mean dev scores, the per-hallmark and abstention
# tables and the result lines; not the per-model lines, whose epochs an ensemble prints per network.
function(evaluation_lines command result)
  execute_process(COMMAND ${command} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${command} failed (${rc}):\n${out}${err}")
  endif()
  string(REGEX MATCHALL "(Rule chosen[^\n]*|  (one pass|Monte Carlo mean) at [a-z/0-9 -]+ +0\\.[0-9]+( +0\\.[0-9]+)|[a-z_]+ +0\\.[0-9]+ +[0-9]+|[0-9]+% +0\\.[0-9]+ +0\\.[0-9]+|Kim CNN, 1 seed[^\n]*|test micro-F1: [0-9.]+)" lines "${out}")
  list(LENGTH lines count)
  if(count LESS 23)
    message(FATAL_ERROR "only ${count} result lines found in:\n${out}")
  endif()
  set(${result} "${lines}" PARENT_SCOPE)
endfunction()

evaluation_lines("${PROGRAM};--quick;--out;${DIR}/program;--save-predictions;${DIR}/cnn.npz" program)
evaluation_lines("${ENSEMBLE};--quick;--models;${DIR}/cnn.npz;${DIR}/cnn.npz;--name;Kim CNN;--out;${DIR}/ensemble"
                 combination)
if(NOT program STREQUAL combination)
  message(FATAL_ERROR "the combination of a file with itself differs from the program's own evaluation:\n${program}\n---\n${combination}")
endif()
list(LENGTH program count)
message(STATUS "the combination of a file with itself printed the program's ${count} result lines")
