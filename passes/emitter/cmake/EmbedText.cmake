# cmake -DIN=<file> -DOUT=<file.inc> -DNAME=<symbol> -P EmbedText.cmake
# Writes a C++ raw-string definition of the file's text (split in chunks:
# compilers cap a single string literal's length).
file(READ "${IN}" text)
string(LENGTH "${text}" len)
set(out "// Generated from ${IN}; do not edit.\nstatic const char *const ${NAME}_chunks[] = {\n")
set(pos 0)
while(pos LESS len)
  string(SUBSTRING "${text}" ${pos} 12000 chunk)
  string(APPEND out "R\"HYPEMBED(${chunk})HYPEMBED\",\n")
  math(EXPR pos "${pos} + 12000")
endwhile()
string(APPEND out "};\n")
file(WRITE "${OUT}.tmp" "${out}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
