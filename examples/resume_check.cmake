# mlp_fashion_mnist --quick: 2 epochs in one run, and 1 epoch then 1 more resumed in a new
# process, must save byte-identical checkpoints.
#   cmake -DPROGRAM=<mlp_fashion_mnist> -DDIR=<scratch dir> -P resume_check.cmake
file(REMOVE_RECURSE ${DIR})
foreach(args "--epochs;2;--out;${DIR}/whole" "--epochs;1;--out;${DIR}/split"
             "--epochs;2;--out;${DIR}/split;--resume;${DIR}/split/fashion_mlp.npz")
  execute_process(COMMAND ${PROGRAM} --quick ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "mlp_fashion_mnist --quick ${args} failed (${rc}):\n${out}${err}")
  endif()
endforeach()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${DIR}/whole/fashion_mlp.npz ${DIR}/split/fashion_mlp.npz
                RESULT_VARIABLE differ)
if(differ)
  message(FATAL_ERROR "2 epochs in one run and 1 + 1 resumed saved different checkpoints")
endif()
message(STATUS "the resumed run matches the uninterrupted one bit for bit")
