# bits_probe at 1 and 2 threads must print the same digests (XGRAD_CONV=im2col, as the builds'
# comparison in the Makefile runs it).
#   cmake -DPROBE=<bits_probe> -P same_bits_check.cmake
foreach(threads 1 2)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env XGRAD_CONV=im2col ${PROBE} --threads ${threads}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out_${threads} ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${PROBE} --threads ${threads} failed (${rc}):\n${out_${threads}}${err}")
  endif()
endforeach()
string(REGEX MATCHALL "\n" lines "${out_1}")
list(LENGTH lines count)
if(count LESS 5)
  message(FATAL_ERROR "expected 5 digests, got:\n${out_1}")
endif()
if(NOT out_1 STREQUAL out_2)
  message(FATAL_ERROR "1 and 2 threads gave different bits:\n${out_1}---\n${out_2}")
endif()
message(STATUS "same bits at 1 and 2 threads:\n${out_1}")
