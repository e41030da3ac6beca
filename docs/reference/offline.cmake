# Copies Redoc's standalone bundle to DESTINATION, network-free: the bundle's
# one fetch from elsewhere (the Redocly logo at the foot of the menu, from
# cdn.redoc.ly) becomes an empty inline image, so /docs loads nothing but
# what baove-api serves (checked by tests/contract/browser/browser.mjs).
file(READ "${SOURCE}" bundle)
string(REPLACE "https://cdn.redoc.ly/redoc/logo-mini.svg"
       "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E" bundle "${bundle}")
string(FIND "${bundle}" "cdn.redoc.ly" remaining)
if(NOT remaining EQUAL -1)
  message(FATAL_ERROR "redoc.standalone.js still refers to cdn.redoc.ly")
endif()
file(WRITE "${DESTINATION}" "${bundle}")
