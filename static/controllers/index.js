// Stimulus application: controllers are registered here as pages need them.
import "@hotwired/turbo"
import { Application } from "@hotwired/stimulus"

const application = Application.start()
window.Stimulus = application
export { application }
