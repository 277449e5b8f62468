from service.fonts import derive

derive()
