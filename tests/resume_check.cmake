# Exact resume: 4 epochs in one process must save the same checkpoint, byte for byte, as 2 epochs
# and 2 more in a new process resumed from the first one's checkpoint.
#   cmake -DPROBE=<resume_probe> -DDIR=<scratch dir> -P resume_check.cmake
file(MAKE_DIRECTORY ${DIR})
foreach(args "4;${DIR}/four.npz" "2;${DIR}/two.npz" "2;${DIR}/two_more.npz;${DIR}/two.npz")
  execute_process(COMMAND ${PROBE} ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message(STATUS "resume_probe ${args}: ${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "resume_probe ${args} failed (${rc})")
  endif()
endforeach()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${DIR}/four.npz ${DIR}/two_more.npz RESULT_VARIABLE differ)
if(differ)
  message(FATAL_ERROR "4 epochs in one run and 2 + 2 resumed in a new process saved different checkpoints")
endif()
message(STATUS "resumed run matches the uninterrupted one bit for bit")
